package pages_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// mapMarks is the centre of every mark on the board's map (technicians' homes and
// positions, visits), in the map's own units, and the map's size.
type mapMarks struct {
	W, H  float64
	Marks [][2]float64
}

func readMap(t testing.TB, ctx context.Context) mapMarks {
	t.Helper()
	m, err := chromedp.Run(ctx, chromedp.Evaluate[mapMarks](`(() => {
		const svg = document.querySelector('#map svg');
		const vb = svg.viewBox.baseVal;
		const n = (e, a) => parseFloat(e.getAttribute(a));
		return { W: vb.width, H: vb.height, Marks: [...svg.querySelectorAll('rect, circle')].map((e) => e.tagName === 'rect'
			? [n(e, 'x') + n(e, 'width') / 2, n(e, 'y') + n(e, 'height') / 2] : [n(e, 'cx'), n(e, 'cy')]) };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBrowserBoardMapOnePoint: a map of one point (a technician's home, then a visit booked
// at his door) draws it in the middle of the map, and two points a block apart are drawn a
// street apart. The bounds of one spot have no width or height, and the point was drawn in
// the bottom left corner; two points 110 m apart were drawn at the map's two edges.
func TestBrowserBoardMapOnePoint(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.44, -99.15)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard", "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live')`)
	pollTrue(t, board, `document.querySelectorAll('#map svg rect').length === 1`)
	centred := func(where string, want int) {
		t.Helper()
		m := readMap(t, board)
		if len(m.Marks) != want {
			t.Fatalf("%s: %d marks on the map, want %d", where, len(m.Marks), want)
		}
		for _, p := range m.Marks {
			if math.Abs(p[0]-m.W/2) > 1 || math.Abs(p[1]-m.H/2) > 1 {
				t.Errorf("%s: a mark at (%.1f, %.1f), want it in the middle of the %.0fx%.0f map (%.0f, %.0f)", where, p[0], p[1], m.W, m.H, m.W/2, m.H/2)
			}
		}
	}
	centred("his home alone", 1)

	// A visit at his door, booked: his home and the visit, one spot, still in the middle.
	day := morning.Format(time.DateOnly)
	longVisit(t, e, tok, day, 1, 19.44)
	pollTrue(t, board, `document.querySelectorAll('#map svg circle').length === 1`)
	centred("his home and a visit at his door", 2)
	shot(t, board, "board-map-one-spot")

	// A second visit a block away (0.001°, about 110 m, north): a street apart, not the
	// whole map apart; the first spot below the middle, the new one above.
	longVisit(t, e, tok, day, 2, 19.441)
	pollTrue(t, board, `document.querySelectorAll('#map svg circle').length === 2`)
	m := readMap(t, board)
	var below, above int
	for _, p := range m.Marks {
		d := p[1] - m.H/2
		switch {
		case math.Abs(p[0]-m.W/2) > 1 || math.Abs(d) < 3 || math.Abs(d) > m.H/8:
			t.Errorf("a block apart: a mark at (%.1f, %.1f), want it 3 to %.0f above or below the middle (%.0f, %.0f)", p[0], p[1], m.H/8, m.W/2, m.H/2)
		case d > 0:
			below++
		default:
			above++
		}
	}
	if below != 2 || above != 1 {
		t.Errorf("a block apart: %d marks below the middle and %d above, want his home and the first visit below, the second above", below, above)
	}
}

// TestBrowserBoardPositionsRefresh: a technician's phone shares where he is without an event
// (at most once a minute), so the board's map kept the position of its last load: on a quiet
// stretch a dispatcher saw him where he had been an hour before, with nothing to say when.
// The board reads the technicians again each minute and when it comes back into view, and
// his mark says when he was seen there.
func TestBrowserBoardPositionsRefresh(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", u.ID, 19.44, -99.15)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard", "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live') && document.querySelectorAll('#map svg rect').length === 1`)
	if n := evalJS[int](t, board, `document.querySelectorAll('#map svg circle[data-position]').length`); n != 0 {
		t.Fatalf("%d positions on the map before any was shared", n)
	}

	call(t, e, token(t, e, "tec@example.mx"), "POST", "/api/technicians/"+strconv.FormatInt(ana, 10)+"/position", `{"lat":19.45,"lon":-99.16}`, 204, nil)
	// The dispatcher comes back to the board's tab (the minute's timer reads them too).
	do(t, board, chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('visibilitychange'))`))
	want := "Ana Técnica · visto a las " + morning.Format("15:04")
	pollTrue(t, board, `(document.querySelector('#map svg circle[data-position] title')?.textContent || '') === `+jsString(want))
}
