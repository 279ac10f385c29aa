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
// A technician opens his route on a phone, often on 3G, where each round trip costs about
// 300 ms: a page asks for its script together with every module that script imports
// (rel=modulepreload, listed from the modules' import statements), and the route page asks
// for the route before its script runs (rel=preload), so that the first stop shows after two
// round trips instead of four. BenchmarkTechnicianFirstStop measures it.
//
// The package does not import the web package (which imports it): the web package hands it
// the signed-in user through Config.Actor and registers its handlers in the route table.
//
// # Tests
//
// The package's tests start the real server (web.New) on a fresh database and drive the
// pages in one headless Chromium shared by the package (/usr/bin/chromium, or $CHROMIUM),
// one tab or browser context per test. A failing browser test saves a full-page screenshot
// under $TMPDIR/despacho-pages-artifacts and logs its path; an uncaught exception or a
// Content-Security-Policy violation in a page fails the test. Run them alone with
//
//	go test -race ./dispatch/web/pages/
package pages
