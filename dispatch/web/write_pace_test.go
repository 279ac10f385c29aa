package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestUnreadResponseReleased: a client that asks for more than the socket buffers hold and
// never reads it (here, the API document requested 600 times on one connection, pipelined)
// left the handler blocked in Write, holding the connection and its goroutine for as long
// as the client liked: the server had no write deadline. A response must now be taken at
// a minimum average rate after a grace period, or the connection is closed. A client that
// reads, however slowly overall, keeps its kept-alive connection: the next request on it
// does not inherit the deadline of the last.
func TestUnreadResponseReleased(t *testing.T) {
	t.Parallel()
	s := web.New(web.Config{DB: dispatchtest.DB(t)})
	web.SetBodyPace(s, 300*time.Millisecond, 1<<20)
	ts := httptest.NewUnstartedServer(s)
	var closed atomic.Int32
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)

	t.Run("never read", func(t *testing.T) {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		before := closed.Load()
		req := "GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
		go c.Write([]byte(strings.Repeat(req, 600))) //nolint:errcheck
		start := time.Now()
		for closed.Load() == before {
			if time.Since(start) > 15*time.Second {
				t.Fatalf("the server still held a connection whose answers were never read after %s", time.Since(start))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("kept alive past the grace", func(t *testing.T) {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for i := range 3 {
			if i > 0 {
				time.Sleep(time.Second) // past the last answer's grace and rate
			}
			if _, err := io.WriteString(c, "GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d on a kept-alive connection: %v", i+1, err)
			}
			n, err := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK || n < 10000 {
				t.Fatalf("request %d: %d, %d bytes, %v", i+1, res.StatusCode, n, err)
			}
		}
	})
}
