package web

// The metadata strippers, for the tests of package web_test.
var (
	StripJPEG = stripJPEG
	StripPNG  = stripPNG
)
