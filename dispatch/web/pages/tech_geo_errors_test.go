package pages_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch/web/pages"
)

// geoPhone is what a test of the phone's errors sees of the technician's page and the
// parked phone under it (parkedPhone, countPosts).
type geoPhone struct {
	Ticked                         bool   // the box "share my position"
	Stored                         string // his choice as stored, despacho.tech.share
	NoFix                          bool   // the quiet note "no fix for now" shows
	Pending                        string // the flash at the foot of the screen, if shown
	Bad                            bool   // and it is an alarm
	Posts, Watched, Asked, Cleared int
}

func (g geoPhone) String() string {
	return fmt.Sprintf("box ticked %t, stored %q, no-fix note %t, flash %q (bad %t), %d posts, %d fixes watched, %d asks, %d watches cleared",
		g.Ticked, g.Stored, g.NoFix, g.Pending, g.Bad, g.Posts, g.Watched, g.Asked, g.Cleared)
}

func readGeoPhone(t testing.TB, ctx context.Context) geoPhone {
	t.Helper()
	var g geoPhone
	s := evalJS[string](t, ctx, `(() => {
		const p = document.getElementById('pending');
		return JSON.stringify({
			Ticked: document.getElementById('share').checked,
			Stored: localStorage.getItem('despacho.tech.share') || '',
			NoFix: document.getElementById('no-fix')?.hidden === false,
			Pending: p.hidden ? '' : p.textContent,
			Bad: !p.hidden && p.classList.contains('bad'),
			Posts: window.__posts, Watched: window.__phone.watched, Asked: window.__phone.asked, Cleared: window.__phone.cleared,
		});
	})()`)
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestBrowserTechNoFixKeepsSharing: any error of the phone's Geolocation API unticked "share
// my position" and said, as an alarm, that the phone could not share, though no fix in a
// basement (position unavailable) or none in time is passing: the watch went on, the box lied
// and his choice stayed stored behind it. Now such an error leaves the box ticked and the
// watch and the beat alive, with a quiet note until the next fix; a later fix, of the watch
// or of the beat's ask, is reported.
func TestBrowserTechNoFixKeepsSharing(t *testing.T) {
	t.Parallel()
	e, tok, id, tech, pass := geoTechPage(t, 19.3950, -99.1480)
	lat := func() float64 {
		t.Helper()
		var got struct{ Position *struct{ Lat float64 } }
		call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(id, 10), "", 200, &got)
		if got.Position == nil {
			return 0
		}
		return got.Position.Lat
	}

	do(t, tech, chromedp.WaitVisible(chromedp.ID("share")), chromedp.Click(chromedp.ID("share")))
	pollTrue(t, tech, `window.__posts === 1 && window.__phone.watched === 1`)
	if g := readGeoPhone(t, tech); g.NoFix || g.Pending != "" {
		t.Fatalf("sharing with a fix: %s, want no note", g)
	}

	// In a basement: the watch hears that there is no position, then (as a watch with a
	// timeout would) that none came in time.
	for _, code := range []int{2, 3} {
		do(t, tech, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.__phone.fail(%d)`, code)))
		if g := readGeoPhone(t, tech); !g.Ticked || g.Stored != "1" || !g.NoFix || g.Bad || g.Cleared != 0 {
			t.Fatalf("after the watch's error %d: %s, want the box ticked and stored, the watch alive, the quiet note and no alarm", code, g)
		}
	}
	if got := text(t, tech, "#no-fix"); got != pages.T(pages.ES, "page.tech.no_fix") {
		t.Errorf("no-fix note = %q, want %q", got, pages.T(pages.ES, "page.tech.no_fix"))
	}

	// Out of the basement two minutes on, at another place: the watch's fix is reported and
	// the note goes.
	pass(2 * time.Minute)
	do(t, tech, chromedp.Evaluate[chromedp.Void](`window.__phone.move(19.4010, -99.1480)`))
	pollTrue(t, tech, `window.__posts === 2 && document.getElementById('no-fix').hidden`)
	for deadline := time.Now().Add(30 * time.Second); lat() != 19.4010; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stored latitude = %v after the fix that followed the errors, want 19.4010", lat())
		}
	}

	// Parked there five minutes, the beat asks and gets no fix in time: sharing stays on.
	do(t, tech, chromedp.Evaluate[chromedp.Void](`window.__phone.askFails = 3`))
	pass(5 * time.Minute)
	waitLong(t, tech, 45*time.Second, `window.__phone.asked === 1`)
	pollTrue(t, tech, `!document.getElementById('no-fix').hidden`)
	if g := readGeoPhone(t, tech); !g.Ticked || g.Stored != "1" || g.Bad || g.Cleared != 0 || g.Posts != 2 {
		t.Fatalf("after the beat's ask timed out: %s, want the box ticked and stored, the watch alive and no alarm", g)
	}
	// A minute and more on, the beat asks again and the fix is reported.
	do(t, tech, chromedp.Evaluate[chromedp.Void](`window.__phone.askFails = 0`))
	pass(2 * time.Minute)
	waitLong(t, tech, 45*time.Second, `window.__posts === 3`)
	pollTrue(t, tech, `document.getElementById('no-fix').hidden`)
	if g := readGeoPhone(t, tech); !g.Ticked || g.Asked != 2 || g.Cleared != 0 {
		t.Errorf("after the beat's second ask: %s, want the box ticked, two asks and the watch alive", g)
	}
}

// TestBrowserTechGeoRefusedStopsSharing: a refused permission unticked the box but left the
// watch and its beat running, the beat asking the phone once a minute for nothing until the
// page was reloaded. Now a refusal, of the watch or of the beat's ask, stops both (the watch
// cleared, nothing asked however long he stays), unticks the box and stores it so, and says
// why until he ticks the box again.
func TestBrowserTechGeoRefusedStopsSharing(t *testing.T) {
	t.Parallel()
	_, _, _, tech, pass := geoTechPage(t, 19.3950, -99.1480)
	denied := pages.T(pages.ES, "t.geo_denied")

	do(t, tech, chromedp.WaitVisible(chromedp.ID("share")), chromedp.Click(chromedp.ID("share")))
	pollTrue(t, tech, `window.__posts === 1 && window.__phone.watched === 1`)

	// The watch is refused.
	do(t, tech, chromedp.Evaluate[chromedp.Void](`window.__phone.fail(1)`))
	if g := readGeoPhone(t, tech); g.Ticked || g.Stored != "" || g.Cleared != 1 || g.Pending != denied || !g.Bad || g.NoFix {
		t.Fatalf("after the watch was refused: %s, want the box unticked and stored so, the watch cleared and the alarm %q", g, denied)
	}
	pass(10 * time.Minute)
	time.Sleep(20 * time.Second) // more than a beat
	if g := readGeoPhone(t, tech); g.Asked != 0 || g.Posts != 1 || g.Watched != 1 {
		t.Fatalf("10 min after the refusal: %s, want nothing asked or posted since", g)
	}

	// He allows it and ticks the box again: sharing starts, the alarm goes.
	do(t, tech, chromedp.Click(chromedp.ID("share")))
	pollTrue(t, tech, `window.__posts === 2 && window.__phone.watched === 2`)
	if g := readGeoPhone(t, tech); !g.Ticked || g.Stored != "1" || g.Pending != "" {
		t.Fatalf("ticked again: %s, want the box ticked and stored, no flash", g)
	}

	// Parked five minutes, the beat asks, and the phone refuses it (its permission taken
	// back): sharing stops as well.
	do(t, tech, chromedp.Evaluate[chromedp.Void](`window.__phone.askFails = 1`))
	pass(5 * time.Minute)
	waitLong(t, tech, 45*time.Second, `window.__phone.asked === 1`)
	pollTrue(t, tech, `!document.getElementById('share').checked`)
	if g := readGeoPhone(t, tech); g.Stored != "" || g.Cleared != 2 || g.Pending != denied || !g.Bad {
		t.Fatalf("after the beat's ask was refused: %s, want the box unticked and stored so, the watch cleared and the alarm %q", g, denied)
	}
	pass(10 * time.Minute)
	time.Sleep(20 * time.Second)
	if g := readGeoPhone(t, tech); g.Asked != 1 || g.Posts != 2 || g.Watched != 2 {
		t.Errorf("10 min after the beat was refused: %s, want nothing asked or posted since", g)
	}
}
