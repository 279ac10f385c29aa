package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestPublicServerBoundsHeaders: the public listener's server answers 431 to a request whose
// headers pass 64 KiB (Go's default took a megabyte per connection before any handler ran),
// and serves ordinary ones.
func TestPublicServerBoundsHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := publicServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	get := func(extra int) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
		if extra > 0 {
			req.Header.Set("X-Padding", strings.Repeat("a", extra))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(0); code != 204 {
		t.Errorf("ordinary request = %d, want 204", code)
	}
	if code := get(8 << 10); code != 204 {
		t.Errorf("8 KiB of headers = %d, want 204", code)
	}
	if code := get(200 << 10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KiB of headers = %d, want 431", code)
	}
}
