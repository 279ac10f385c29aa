package web

import "time"

// The metadata strippers, for the tests of package web_test.
var (
	StripJPEG = stripJPEG
	StripPNG  = stripPNG
)

// SetBodyPace sets how long s waits for a request body before it must flow, and the
// slowest average rate it accepts after that; call it before s serves.
func SetBodyPace(s *Server, grace time.Duration, bytesPerSecond float64) {
	s.bodyGrace, s.bodyRate = grace, bytesPerSecond
}
