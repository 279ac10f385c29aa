package pages_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// netProfile is a mobile network as WebPageTest names it. DevTools throttles each request
// (latency added before the answer, bandwidth shared by all), not packets: connection set-up
// and TCP slow start are not counted, so a real phone is slower still.
type netProfile struct {
	name             string
	downKbps, upKbps float64
	latencyMs        float64
}

var mobileProfiles = []netProfile{
	{name: "3G", downKbps: 1600, upKbps: 768, latencyMs: 300},
	{name: "3GSlow", downKbps: 780, upKbps: 330, latencyMs: 200},
}

// throttle puts the tab on the network p, or on no limit with nil. CDP counts bytes a second.
func throttle(p *netProfile) chromedp.Action[chromedp.Void] {
	c := &network.Conditions{DownloadThroughput: -1, UploadThroughput: -1}
	if p != nil {
		c = &network.Conditions{Latency: p.latencyMs, DownloadThroughput: p.downKbps * 1000 / 8, UploadThroughput: p.upKbps * 1000 / 8}
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{c},
		})
		return err
	})
}

// clearCache empties the browser's HTTP cache and origin's cache storage and service
// workers (the tech page keeps itself there for a reload without signal), so that the next
// load is a first one.
func clearCache(origin string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: origin, StorageTypes: "cache_storage,service_workers"})
		return err
	})
}

// BenchmarkTechnicianFirstStop measures the product's promise, "a technician on a 3G phone
// gets the next stop in a second": a signed-in technician with a visit booked today opens
// /tech with an empty cache, on WebPageTest's 3G and 3G Slow profiles. ms-to-first-stop is
// the time from the start of the navigation (the page's own clock) to the frame that shows
// the first stop's folio in #route; the benchmark fails if it never shows, or if a load asks
// for the route more than once. serial-requests is the longest chain of requests answered
// before that frame, each sent after the answer to the one before it: the round trips the
// technician waits for. The first load on each network logs its requests in the order they
// were sent, with their start and end after the navigation started. The figures are for
// reading, never a pass or a fail:
//
//	go test ./dispatch/web/pages -run '^$' -bench TechnicianFirstStop -benchtime 3x
func BenchmarkTechnicianFirstStop(b *testing.B) {
	morning := businessMorning(b)
	e := newEnvAt(b, func() time.Time { return morning })
	tok, _, _ := juanCrew(b, e)
	folio, _ := bookedVisit(b, e, tok, morning.Format(time.DateOnly), "Sin señal")

	ctx := tab(b, true)
	do(b, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(b, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(b, ctx, "#route", folio)
	// The page's own clock marks the frame after the folio enters #route: performance.now()
	// counts from the start of the navigation.
	mark := `(() => {
		const seen = () => { const r = document.getElementById('route'); return !!r && r.textContent.includes(` + jsString(folio) + `) && r.getClientRects().length > 0; };
		const mo = new MutationObserver(() => {
			if (!seen()) return;
			mo.disconnect();
			requestAnimationFrame(() => { window.__firstStop = performance.now(); });
		});
		mo.observe(document, { childList: true, subtree: true, characterData: true });
	})()`
	do(b, ctx, beforeScripts(mark))
	rec := &requestLog{}
	if err := chromedp.Listen(ctx, rec.event); err != nil {
		b.Fatal(err)
	}
	target := e.URL + "/tech"

	for _, p := range mobileProfiles {
		// The chain of the first load only: the testing package keeps ten lines of a
		// benchmark's log.
		logged := false
		b.Run(p.name, func(b *testing.B) {
			do(b, ctx, throttle(&p))
			defer do(b, ctx, throttle(nil))
			var total, bytes, requests, serial float64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				do(b, ctx, chromedp.Navigate("about:blank"), clearCache(e.URL))
				rec.start()
				b.StartTimer()
				if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
					_, err := cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: target})
					return err
				})); err != nil {
					b.Fatal(err)
				}
				ms := waitFirstStop(b, ctx)
				b.StopTimer()
				reqs, warnings := rec.settle(b, ctx)
				for _, w := range warnings {
					b.Errorf("browser log: %s", w)
				}
				total += ms
				routes := 0
				for _, r := range reqs {
					bytes += r.bytes
					if strings.HasSuffix(r.path, "/route") {
						routes++
					}
				}
				if routes != 1 {
					b.Errorf("the load asked for the route %d times, want once:\n%s", routes, chain(reqs))
				}
				requests += float64(len(reqs))
				serial += float64(serialRequests(reqs, ms))
				if !logged {
					logged = true
					b.Logf("%s: first stop after %.0f ms; the requests, from the start of the navigation:\n%s", p.name, ms, chain(reqs))
				}
			}
			n := float64(b.N)
			b.ReportMetric(total/n, "ms-to-first-stop")
			b.ReportMetric(bytes/n/1024, "KB-transferred")
			b.ReportMetric(requests/n, "requests")
			b.ReportMetric(serial/n, "serial-requests")
		})
	}
}

// waitFirstStop waits for the page's mark of the first stop and returns it, in milliseconds
// after the navigation started.
func waitFirstStop(tb testing.TB, ctx context.Context) float64 {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Fails while the navigation swaps the document: try again.
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`location.pathname === '/tech' && typeof window.__firstStop === 'number' ? window.__firstStop : -1`))
		if err == nil && ms >= 0 {
			return ms
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			tb.Fatalf("the first stop did not show in #route within 60 s (%v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// request is one request of a page load, its times in milliseconds after the document's.
type request struct {
	id                   network.RequestID
	method, path, kind   string
	initiator            string
	start, answer, end   float64
	bytes                float64
	cached, done, failed bool
	t0                   float64 // monotonic seconds, before start is made relative
}

// requestLog records the requests of a tab between start and settle. Its event method runs
// on the tab's reading goroutine (chromedp.Listen): it only appends under the lock.
type requestLog struct {
	mu       sync.Mutex
	on       bool
	reqs     []*request
	byID     map[network.RequestID]*request
	warnings []string
}

func (l *requestLog) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on, l.reqs, l.byID, l.warnings = true, nil, map[network.RequestID]*request{}, nil
}

func (l *requestLog) event(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on {
		return
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if strings.HasPrefix(ev.Request.URL, "data:") || strings.HasPrefix(ev.Request.URL, "about:") {
			return
		}
		r := &request{id: ev.RequestID, method: ev.Request.Method, path: shortURL(ev.Request.URL), kind: string(ev.Type), t0: float64(ev.Timestamp)}
		if in := ev.Initiator; in != nil {
			r.initiator = string(in.Type)
			src := in.URL
			if src == "" && in.Stack != nil && len(in.Stack.CallFrames) > 0 {
				src = in.Stack.CallFrames[0].URL
			}
			if src != "" {
				r.initiator += " " + shortURL(src)
			}
		}
		l.reqs = append(l.reqs, r)
		l.byID[ev.RequestID] = r
	case *network.EventWebSocketWillSendHandshakeRequest:
		r := &request{id: ev.RequestID, method: "GET", path: "/ws", kind: "WebSocket", t0: float64(ev.Timestamp)}
		l.reqs = append(l.reqs, r)
		l.byID[ev.RequestID] = r
	case *network.EventWebSocketHandshakeResponseReceived:
		if r := l.byID[ev.RequestID]; r != nil {
			r.answer, r.end, r.done = float64(ev.Timestamp), float64(ev.Timestamp), true
		}
	case *network.EventRequestServedFromCache:
		if r := l.byID[ev.RequestID]; r != nil {
			r.cached = true
		}
	case *network.EventResponseReceived:
		if r := l.byID[ev.RequestID]; r != nil {
			r.answer = float64(ev.Timestamp)
			r.cached = r.cached || ev.Response.FromDiskCache || ev.Response.FromPrefetchCache
		}
	case *network.EventLoadingFinished:
		if r := l.byID[ev.RequestID]; r != nil {
			r.end, r.bytes, r.done = float64(ev.Timestamp), ev.EncodedDataLength, true
		}
	case *network.EventLoadingFailed:
		if r := l.byID[ev.RequestID]; r != nil {
			r.end, r.done, r.failed = float64(ev.Timestamp), true, true
		}
	case *cdplog.EventEntryAdded:
		// Chromium warns here about a preload that was not used, or used twice.
		if ev.Entry != nil && strings.Contains(strings.ToLower(ev.Entry.Text), "preload") {
			l.warnings = append(l.warnings, ev.Entry.Text)
		}
	}
}

// settle waits until the page has loaded and no request has been open for half a second,
// stops recording and returns the requests, with times relative to the document's.
func (l *requestLog) settle(tb testing.TB, ctx context.Context) ([]*request, []string) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	quiet := time.Now()
	for {
		complete, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === 'complete'`))
		l.mu.Lock()
		open := slices.ContainsFunc(l.reqs, func(r *request) bool { return !r.done && r.kind != "WebSocket" })
		l.mu.Unlock()
		if open || err != nil || !complete {
			quiet = time.Now()
		}
		if time.Since(quiet) > 500*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			l.mu.Lock()
			var open []string
			for _, r := range l.reqs {
				if !r.done {
					open = append(open, r.path)
				}
			}
			l.mu.Unlock()
			tb.Fatalf("the page still loads after 60 s (readyState complete: %v, %v); open: %q", complete, err, open)
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	reqs := l.reqs
	if len(reqs) == 0 {
		tb.Fatal("no request recorded")
	}
	t0 := reqs[0].t0
	ms := func(t float64) float64 {
		if t == 0 {
			return -1
		}
		return (t - t0) * 1000
	}
	for _, r := range reqs {
		r.start, r.answer, r.end = ms(r.t0), ms(r.answer), ms(r.end)
	}
	return reqs, l.warnings
}

// shortURL is the path and query of u, with the static files' version cut to "…".
func shortURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Path == "" {
		return u
	}
	s := p.Path
	if strings.HasPrefix(s, "/static/") {
		if _, rest, ok := strings.Cut(strings.TrimPrefix(s, "/static/"), "/"); ok {
			s = "/static/…/" + rest
		}
	}
	if p.RawQuery != "" {
		s += "?" + p.RawQuery
	}
	return s
}

// chain lists the requests in the order they were sent.
func chain(reqs []*request) string {
	var b strings.Builder
	for i, r := range reqs {
		note := ""
		if r.cached {
			note += " (cache)"
		}
		if r.failed {
			note += " (failed)"
		}
		fmt.Fprintf(&b, "  %2d. %6.0f → %6.0f ms  %-10s %-4s %-34s %6.1f KB  from %s%s\n",
			i+1, r.start, r.end, r.kind, r.method, r.path, r.bytes/1024, r.initiator, note)
	}
	return b.String()
}

// serialRequests is the length of the longest chain of requests answered by the time ms,
// each sent after the answer to the one before it: the round trips waited for.
func serialRequests(reqs []*request, ms float64) int {
	longest := 0
	depth := make([]int, len(reqs))
	for i, r := range reqs {
		if r.answer < 0 || r.answer > ms {
			continue
		}
		depth[i] = 1
		for j, q := range reqs[:i] {
			if depth[j] > 0 && q.answer <= r.start && depth[j]+1 > depth[i] {
				depth[i] = depth[j] + 1
			}
		}
		longest = max(longest, depth[i])
	}
	return longest
}
