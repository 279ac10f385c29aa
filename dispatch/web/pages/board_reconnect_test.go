package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardReconnectCatchesUp: the board and the technician's page, open on a quiet
// morning (no live event yet), lose their live feed; meanwhile a colleague gives the
// technician's visit to another and books a new one. Once the feed is back, both pages show
// what happened. A feed with no event seen reconnected "from now" and the outage's changes
// were never shown: the board kept the visit on the first technician's line, and his phone
// kept a stop that was no longer his.
func TestBrowserBoardReconnectCatchesUp(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	l := newLiveEnv(t, func() time.Time { return morning }, time.Hour)
	e := l.env
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", u.ID, 19.4326, -99.1332)
	beto := technician(t, e, tok, "Beto Técnico", 0, 19.4200, -99.1500)
	day := morning.Format(time.DateOnly)
	_, vid := bookedVisit(t, e, tok, day, "Uno")
	id := strconv.FormatInt(vid, 10)
	var v struct {
		TechnicianID int64 `json:"technician_id"`
		Version      int
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &v)
	if v.TechnicianID != ana {
		call(t, e, tok, "POST", "/api/visits/"+id+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, ana, v.Version), 200, &v)
	}

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1366, 768))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, tech, e.URL, "%2Ftech", "tec@example.mx")
	pollTrue(t, tech, `!!document.querySelector('#route li[data-visit="`+id+`"]')`)
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live') && !!document.querySelector('.track[data-tech="`+strconv.FormatInt(ana, 10)+`"] .block[data-visit="`+id+`"]')`)
	l.waitServedN(t, 2) // the board's feed and the phone's

	// The feed drops and stays down while the colleague works.
	l.refuseWS.Store(true)
	l.drop()
	waitText(t, board, "#live-state", "Reconectando")
	waitText(t, tech, "#conn", "Reconectando")
	call(t, e, tok, "POST", "/api/visits/"+id+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, beto, v.Version), 200, nil)
	_, other := bookedVisit(t, e, tok, day, "Dos")

	l.refuseWS.Store(false)
	pollTrue(t, board, `!!document.querySelector('.track[data-tech="`+strconv.FormatInt(beto, 10)+`"] .block[data-visit="`+id+`"]') && !!document.querySelector('.block[data-visit="`+strconv.FormatInt(other, 10)+`"]')`)
	pollTrue(t, tech, `!document.querySelector('#route li[data-visit="`+id+`"]')`)
}

// TestBrowserPagesMissNothingBeforeTheirFeed: the board and the technician's page load their
// data, then open the live feed; a visit given to the technician in between, its events
// handed out before the feeds connect, was shown by neither until some later event (the
// feeds started "from now"). They now open from the position their data was read at
// (Live-After) and show it.
func TestBrowserPagesMissNothingBeforeTheirFeed(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	l := newLiveEnv(t, func() time.Time { return morning }, time.Hour)
	e := l.env
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", u.ID, 19.4326, -99.1332)
	day := morning.Format(time.DateOnly)
	_, first := bookedVisit(t, e, tok, day, "Uno")
	one := strconv.FormatInt(first, 10)

	hold := make(chan struct{})
	l.holdWS.Store(&hold)
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1366, 768))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, tech, e.URL, "%2Ftech", "tec@example.mx")
	pollTrue(t, tech, `!!document.querySelector('#route li[data-visit="`+one+`"]')`)
	pollTrue(t, board, `!!document.querySelector('.block[data-visit="`+one+`"]')`)
	deadline := time.Now().Add(20 * time.Second)
	for l.upgrades.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the pages asked for %d feeds, want 2", l.upgrades.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Their data is in, their feeds are on the way: a second visit is booked for Ana.
	_, second := bookedVisit(t, e, tok, day, "Dos")
	two := strconv.FormatInt(second, 10)
	var v struct {
		TechnicianID int64 `json:"technician_id"`
		Version      int
	}
	call(t, e, tok, "GET", "/api/visits/"+two, "", 200, &v)
	if v.TechnicianID != ana {
		call(t, e, tok, "POST", "/api/visits/"+two+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, ana, v.Version), 200, nil)
	}
	l.fannedOut(t)
	release()

	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live') && !!document.querySelector('.track[data-tech="`+strconv.FormatInt(ana, 10)+`"] .block[data-visit="`+two+`"]')`)
	pollTrue(t, tech, `!!document.querySelector('#route li[data-visit="`+two+`"]')`)
}
