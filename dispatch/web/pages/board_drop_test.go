package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardDropAtTime: dragging the second visit of a technician's day to the start
// of his time line puts it first in his route (POST /move with the place the drop means),
// and the board says so.
func TestBrowserBoardDropAtTime(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	day := morning.Format(time.DateOnly)
	bookedVisit(t, e, tok, day, "Primera")
	bookedVisit(t, e, tok, day, "Segunda")
	route := func() []int64 {
		t.Helper()
		var p struct {
			Routes []struct {
				TechnicianID int64 `json:"technician_id"`
				Visits       []struct{ ID int64 }
			}
		}
		call(t, e, tok, "GET", "/api/plans/"+day, "", 200, &p)
		for _, r := range p.Routes {
			if r.TechnicianID == ana {
				var ids []int64
				for _, v := range r.Visits {
					ids = append(ids, v.ID)
				}
				return ids
			}
		}
		return nil
	}
	before := route()
	if len(before) != 2 {
		t.Fatalf("Ana's route = %v, want both visits", before)
	}
	second := before[1]

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	block := `.block[data-visit="` + strconv.FormatInt(second, 10) + `"]`
	pollTrue(t, board, `!!document.querySelector('`+block+`')`)
	pts, err := chromedp.Run(board, chromedp.Evaluate[[]float64](`(() => {
		const b = document.querySelector('`+block+`').getBoundingClientRect();
		const tr = document.querySelector('.track[data-tech="`+strconv.FormatInt(ana, 10)+`"]').getBoundingClientRect();
		return [b.left + b.width / 2, b.top + b.height / 2, tr.left + 6, tr.top + tr.height - 6];
	})()`))
	if err != nil || len(pts) != 4 {
		t.Fatalf("points: %v %v", pts, err)
	}
	do(t, board, chromedp.DragAndDropXY(pts[0], pts[1], pts[2], pts[3]))
	waitText(t, board, "#board-msg", "lugar 1 de su ruta")
	if after := route(); len(after) != 2 || after[0] != second {
		t.Fatalf("Ana's route after the drop = %v, want %d first (was %v)", after, second, before)
	}
}
