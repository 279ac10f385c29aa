package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTechParkedPhoneReports: the page reported the phone's position only when its
// watch heard of a fix, and a watch hears of one when the phone moves: a technician sharing
// from a job he spent an hour at reported nothing after his arrival, and the board (which
// fades a position more than 10 minutes old) drew him as not heard from. Now, while
// sharing, the page asks the phone where it is once nothing was reported for 4 minutes.
// A report 3 minutes old is left alone; 5 minutes on, the parked phone reports again, by
// asking, and the server has a fresh position. With the box unticked nothing is asked.
//
// Time passes on the server's clock and the page's (pageClock) alike; the page's timers run
// in real time, so the test waits for its 15 s beat, never for the minutes.
func TestBrowserTechParkedPhoneReports(t *testing.T) {
	t.Parallel()
	e, tok, id, tech, pass := geoTechPage(t, 19.3950, -99.1480)
	type position struct {
		Lat, Lon float64
		At       time.Time
		AgeS     int64 `json:"age_s"`
	}
	stored := func() *position {
		t.Helper()
		var got struct{ Position *position }
		call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(id, 10), "", 200, &got)
		return got.Position
	}
	counts := `JSON.stringify({ posts: window.__posts, watched: window.__phone.watched, asked: window.__phone.asked })`

	// He ticks the box: the watch's one fix is reported.
	do(t, tech, chromedp.WaitVisible(chromedp.ID("share")), chromedp.Click(chromedp.ID("share")))
	pollTrue(t, tech, `window.__posts === 1 && window.__phone.watched === 1`)
	var first *position
	for first = stored(); first == nil; first = stored() {
		time.Sleep(100 * time.Millisecond)
	}

	// Three minutes at the job: the report is recent, the page asks nothing (a beat or more
	// goes by).
	pass(3 * time.Minute)
	time.Sleep(20 * time.Second)
	if got := evalJS[string](t, tech, counts); got != `{"posts":1,"watched":1,"asked":0}` {
		t.Fatalf("3 min after a report, the page's posts and fixes = %s, want the one report and no ask", got)
	}

	// Five minutes after the report, with no move: the page asks where the phone is, once,
	// and reports it.
	pass(2 * time.Minute)
	waitLong(t, tech, 45*time.Second, `window.__posts === 2`)
	if got := evalJS[string](t, tech, counts); got != `{"posts":2,"watched":1,"asked":1}` {
		t.Errorf("after the parked phone reported again, the page's posts and fixes = %s, want two reports, the second asked for", got)
	}
	var again *position
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if again = stored(); again.At.Sub(first.At) >= 5*time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored position = %+v after the parked phone reported again, want one taken 5 min or more after the first (%s)", again, first.At)
		}
	}
	if again.Lat != first.Lat || again.Lon != first.Lon || again.AgeS >= 600 {
		t.Errorf("stored position = %+v, want the same place as %+v, under the board's 10 minutes old", again, first)
	}

	// He unticks the box: however long he stays, nothing is asked or sent.
	do(t, tech, chromedp.Click(chromedp.ID("share")))
	pollTrue(t, tech, `localStorage.getItem('despacho.tech.share') === ''`)
	pass(10 * time.Minute)
	time.Sleep(20 * time.Second)
	if got := evalJS[string](t, tech, counts); got != `{"posts":2,"watched":1,"asked":1}` {
		t.Errorf("with the box unticked, the page's posts and fixes = %s, want them as they were", got)
	}
}
