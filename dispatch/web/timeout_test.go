package web_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestSlowBodyTimeout: a client that sends its headers and then a body that stalls (the
// slow-POST variant of slowloris) held the connection and its goroutine for as long as it
// liked — the server has only ReadHeaderTimeout, as a whole-request ReadTimeout would cut
// a technician's photo over a poor connection. The body must now keep flowing: after a
// grace period it must arrive at a minimum average rate or the connection is closed. A
// slow but steady upload past the grace period still succeeds.
func TestSlowBodyTimeout(t *testing.T) {
	t.Parallel()
	s := web.New(web.Config{DB: dispatchtest.DB(t)})
	web.SetBodyPace(s, time.Second, 1024)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	body := `{"customer":{"name":"Rosa","phone":"55 4876 1234"},"address":{"line":"Calle 5"},"kind":"fault","description":"` + strings.Repeat("x", 3000) + `"}`
	send := func(t *testing.T, pace func(c net.Conn, rest string)) (status int, took time.Duration, err error) {
		t.Helper()
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST /public/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		pace(c, body)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server still held the connection after %s, waiting for the body", time.Since(start))
		}
		if err != nil {
			return 0, time.Since(start), err
		}
		res.Body.Close()
		return res.StatusCode, time.Since(start), nil
	}

	t.Run("stalled body", func(t *testing.T) {
		t.Parallel()
		status, took, err := send(t, func(c net.Conn, rest string) {
			c.Write([]byte(rest[:100])) //nolint:errcheck
			// Then nothing.
		})
		if (err == nil && status < 400) || took > 6*time.Second {
			t.Fatalf("stalled body answered %d after %s (%v), want it refused within seconds", status, took, err)
		}
	})
	t.Run("trickled body", func(t *testing.T) {
		t.Parallel()
		status, took, err := send(t, func(c net.Conn, rest string) {
			// 100 bytes a second, far below the minimum rate, for as long as the server
			// lets it.
			for i, stop := 0, time.Now().Add(8*time.Second); i < len(rest) && time.Now().Before(stop); i += 10 {
				if _, err := c.Write([]byte(rest[i : i+10])); err != nil {
					return
				}
				time.Sleep(time.Second / 10)
			}
		})
		if (err == nil && status < 400) || took > 6*time.Second {
			t.Fatalf("trickled body answered %d after %s (%v), want it refused within seconds", status, took, err)
		}
	})
	t.Run("slow but steady body", func(t *testing.T) {
		t.Parallel()
		status, took, err := send(t, func(c net.Conn, rest string) {
			// 3 KB in 6 pieces of 512 bytes over about 1.5 s: past the grace, 2 KB/s.
			for i := 0; i < len(rest); i += 512 {
				c.Write([]byte(rest[i:min(i+512, len(rest))])) //nolint:errcheck
				time.Sleep(250 * time.Millisecond)
			}
		})
		if err != nil || status != 201 {
			t.Fatalf("steady upload = %d after %s (%v), want 201", status, took, err)
		}
	})
}
