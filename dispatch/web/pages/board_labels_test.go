package pages_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// blockGeometry is what a time line block shows and where, as the browser laid it out.
type blockGeometry struct {
	ID      string  `json:"id"`
	Text    string  `json:"text"`
	Left    float64 `json:"left"`
	Right   float64 `json:"right"`
	ScrollW float64 `json:"scrollW"`
	ClientW float64 `json:"clientW"`
	ScrollH float64 `json:"scrollH"`
	ClientH float64 `json:"clientH"`
	// TextLeft and TextRight bound the label's glyphs (a Range over the block's text).
	TextLeft  float64 `json:"textLeft"`
	TextRight float64 `json:"textRight"`
}

// blocksOf measures the blocks of the technician's time line, left to right.
func blocksOf(t testing.TB, ctx context.Context, tech int64) []blockGeometry {
	t.Helper()
	js := `[...document.querySelectorAll('.track[data-tech="` + strconv.FormatInt(tech, 10) + `"] .block')].map((b) => {
		const r = b.getBoundingClientRect();
		const rg = document.createRange();
		rg.selectNodeContents(b);
		const tr = rg.getBoundingClientRect();
		return { id: b.dataset.visit, text: b.innerText.trim(), left: r.left, right: r.right,
			scrollW: b.scrollWidth, clientW: b.clientWidth, scrollH: b.scrollHeight, clientH: b.clientHeight,
			textLeft: tr.width ? tr.left : r.left, textRight: tr.width ? tr.right : r.left };
	}).sort((a, b) => a.left - b.left)`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]blockGeometry](js))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestBrowserBoardBackToBackLabels: two visits of one technician back to back (same
// address, one after the other) each show their label inside their own bar, whole, at the
// dispatchers' two screen sizes. The bars had a minimum width wider than an hour at
// 1366 px, so the first bar ran under the second and its label was cut ("08:00 0") or
// hidden; a label is now shortened (time over number, then the number alone) to what fits.
func TestBrowserBoardBackToBackLabels(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", 0, 19.44, -99.14)
	day := morning.Format(time.DateOnly)
	folios := map[string]string{}
	for _, d := range []string{"Primera", "Segunda"} {
		f, id := bookedVisit(t, e, tok, day, d)
		folios[strconv.FormatInt(id, 10)] = f
	}
	var p struct {
		Routes []struct {
			TechnicianID int64 `json:"technician_id"`
			Visits       []struct {
				ID           int64
				PlannedStart time.Time `json:"planned_start"`
				PlannedEnd   time.Time `json:"planned_end"`
			}
		}
	}
	call(t, e, tok, "GET", "/api/plans/"+day, "", 200, &p)
	if len(p.Routes) != 1 || p.Routes[0].TechnicianID != ana || len(p.Routes[0].Visits) != 2 {
		t.Fatalf("plan = %+v, want both visits on Ana's route", p.Routes)
	}
	if vs := p.Routes[0].Visits; !vs[0].PlannedEnd.Equal(vs[1].PlannedStart) {
		t.Fatalf("Ana's visits %v–%v and %v–%v, want them back to back (same address)",
			vs[0].PlannedStart, vs[0].PlannedEnd, vs[1].PlannedStart, vs[1].PlannedEnd)
	}

	board := tab(t, true)
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	for _, vp := range [][2]int64{{1366, 768}, {1920, 1080}} {
		do(t, board, chromedp.EmulateViewport(vp[0], vp[1]), chromedp.Navigate(e.URL+"/board?day="+day))
		pollTrue(t, board, `document.querySelectorAll('.track .block').length === 2`)
		bs := blocksOf(t, board, ana)
		where := fmt.Sprintf("at %dx%d", vp[0], vp[1])
		if len(bs) != 2 {
			t.Fatalf("%s: %d blocks on Ana's line, want 2", where, len(bs))
		}
		if bs[0].Right > bs[1].Left+0.5 {
			t.Errorf("%s: the first bar ends at %.1f px, under the second, which starts at %.1f", where, bs[0].Right, bs[1].Left)
		}
		for _, b := range bs {
			number := strings.TrimLeft(folios[b.ID][strings.LastIndex(folios[b.ID], "-")+1:], "0")
			if !strings.Contains(b.Text, number) {
				t.Errorf("%s: block of %s reads %q, want at least its number %s", where, folios[b.ID], b.Text, number)
			}
			if b.ScrollW > b.ClientW || b.ScrollH > b.ClientH {
				t.Errorf("%s: label %q of %s is cut: it needs %.0fx%.0f px, the bar has %.0fx%.0f",
					where, b.Text, folios[b.ID], b.ScrollW, b.ScrollH, b.ClientW, b.ClientH)
			}
			if b.TextLeft < b.Left-0.5 || b.TextRight > b.Right+0.5 {
				t.Errorf("%s: label %q of %s spans %.1f–%.1f px, outside its bar %.1f–%.1f",
					where, b.Text, folios[b.ID], b.TextLeft, b.TextRight, b.Left, b.Right)
			}
		}
		shot(t, board, fmt.Sprintf("board-%d", vp[0]))
	}
}
