package pages_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
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
	l, tok, ana, day := anaOnAMorning(t)
	e := l.env
	beto := technician(t, e, tok, "Beto Técnico", 0, 19.4200, -99.1500)
	_, vid := bookedVisit(t, e, tok, day, "Uno")
	id := strconv.FormatInt(vid, 10)
	version := giveTo(t, e, tok, id, ana)

	board, tech := boardAndPhone(t, e, day)
	pollTrue(t, tech, `!!document.querySelector('#route li[data-visit="`+id+`"]')`)
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live') && !!document.querySelector('.track[data-tech="`+strconv.FormatInt(ana, 10)+`"] .block[data-visit="`+id+`"]')`)
	l.waitServedN(t, 2) // the board's feed and the phone's

	// The feed drops and stays down while the colleague works.
	l.refuseWS.Store(true)
	l.drop()
	waitText(t, board, "#live-state", "Reconectando")
	waitText(t, tech, "#conn", "Reconectando")
	call(t, e, tok, "POST", "/api/visits/"+id+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, beto, version), 200, nil)
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
	l, tok, ana, day := anaOnAMorning(t)
	e := l.env
	_, first := bookedVisit(t, e, tok, day, "Uno")
	one := strconv.FormatInt(first, 10)

	hold := make(chan struct{})
	l.holdWS.Store(&hold)
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	board, tech := boardAndPhone(t, e, day)
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
	giveTo(t, e, tok, two, ana)
	l.fannedOut(t)
	release()

	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live') && !!document.querySelector('.track[data-tech="`+strconv.FormatInt(ana, 10)+`"] .block[data-visit="`+two+`"]')`)
	pollTrue(t, tech, `!!document.querySelector('#route li[data-visit="`+two+`"]')`)
}

// anaOnAMorning starts a live env on a business morning with a dispatcher (disp@example.mx)
// and Ana, a technician signed up as tec@example.mx; it returns the env, the dispatcher's
// token, Ana's technician id and the day.
func anaOnAMorning(t *testing.T) (l *liveEnv, tok string, ana int64, day string) {
	t.Helper()
	morning := businessMorning(t)
	l = newLiveEnv(t, func() time.Time { return morning }, time.Hour)
	l.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	u := l.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok = token(t, l.env, "disp@example.mx")
	ana = technician(t, l.env, tok, "Ana Técnica", u.ID, 19.4326, -99.1332)
	return l, tok, ana, morning.Format(time.DateOnly)
}

// giveTo assigns visit id to technician tech unless it is his already, and returns the
// visit's version after.
func giveTo(t *testing.T, e *env, tok, id string, tech int64) int {
	t.Helper()
	var v struct {
		TechnicianID int64 `json:"technician_id"`
		Version      int
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &v)
	if v.TechnicianID != tech {
		call(t, e, tok, "POST", "/api/visits/"+id+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, tech, v.Version), 200, &v)
	}
	return v.Version
}

// boardAndPhone opens the board of day as the dispatcher on a desktop and the route as
// the technician on a 360x640 phone.
func boardAndPhone(t *testing.T, e *env, day string) (board, tech context.Context) {
	t.Helper()
	board = tab(t, true)
	do(t, board, chromedp.EmulateViewport(1366, 768))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	tech = tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, tech, e.URL, "%2Ftech", "tec@example.mx")
	return board, tech
}
