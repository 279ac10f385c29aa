// Package pages serves the web pages people use: the public report form and status page for
// customers, the sign-in page, the dispatcher's board, the agent's desk and the technician's
// route.
//
// Pages are html/template documents with small vanilla JavaScript modules and one style
// sheet, all embedded in the binary and served under a content-hashed /static/ prefix, so
// nothing is fetched from the internet at run time and the strict Content-Security-Policy
// (no inline scripts or styles) holds. Pages call the JSON API with same-origin fetches and
// follow live changes over /ws. Spanish is the default language; English is one click away.
//
// The package does not import the web package (which imports it): the web package hands it
// the signed-in user through Config.Actor and registers its handlers in the route table.
package pages
