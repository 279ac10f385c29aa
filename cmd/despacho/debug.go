package main

import (
	"net/http"
	"net/http/pprof"
)

// debugHandler serves the Go profiler (net/http/pprof) for DEBUG_ADDR, a listener of its
// own that is off unless set: profiles show request data and cost CPU, so they never share
// the public port. /debug/pprof/heap?gc=1 runs a garbage collection first, which is how
// `bench load` reads the live heap.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}
