package pages_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardDragOverColleaguesChange: a dispatcher starts dragging a visit; while he
// drags, a colleague gives it to another technician, and the board redraws live under the
// drag. His drop, meant for the visit as he saw it when he picked it up, is refused as
// stale and the board says so: the colleague's change stands. The drop sent the visit's
// version as of the redraw, and silently undid the colleague's change (the detail's
// "Asignar" already sent what it showed).
func TestBrowserBoardDragOverColleaguesChange(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	techs := []int64{
		technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332),
		technician(t, e, tok, "Beto Técnico", 0, 19.4200, -99.1500),
		technician(t, e, tok, "Carla Técnica", 0, 19.4100, -99.1600),
	}
	day := morning.Format(time.DateOnly)
	_, vid := bookedVisit(t, e, tok, day, "Sin señal")
	id := strconv.FormatInt(vid, 10)
	var v struct {
		TechnicianID int64 `json:"technician_id"`
		Version      int
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &v)
	var others []int64
	for _, x := range techs {
		if x != v.TechnicianID {
			others = append(others, x)
		}
	}
	colleagues, mine := others[0], others[1]

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live')`)
	block := `.block[data-visit="` + id + `"]`
	pollTrue(t, board, `!!document.querySelector('`+block+`')`)
	from, err := chromedp.Run(board, chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector('`+block+`').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`))
	if err != nil {
		t.Fatal(err)
	}

	// He picks the visit up: the browser starts a drag (intercepted, to be driven from here).
	intercepted := make(chan *input.DragData, 1)
	if err := chromedp.Listen(board, func(ev any) {
		if d, ok := ev.(*input.EventDragIntercepted); ok {
			select {
			case intercepted <- d.Data:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	cmd := func(f func(ctx context.Context, tg *chromedp.Target) error) { do(t, board, chromedp.Func(f)) }
	mouse := func(typ input.DispatchMouseEventType, x, y float64, buttons int64) {
		cmd(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1})
			return err
		})
	}
	cmd(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.SetInterceptDrags, input.SetInterceptDragsParams{Enabled: true})
		return err
	})
	mouse(input.DispatchMouseEventTypeMousePressed, from[0], from[1], 1)
	var data *input.DragData
	for i := 1; data == nil; i++ {
		if i > 40 {
			t.Fatal("the block did not start a drag")
		}
		mouse(input.DispatchMouseEventTypeMouseMoved, from[0]+float64(i)*3, from[1]+float64(i), 1)
		select {
		case data = <-intercepted:
		case <-time.After(100 * time.Millisecond):
		}
	}
	drag := func(typ input.DispatchDragEventType, x, y float64) {
		cmd(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: x, Y: y, Data: data})
			return err
		})
	}
	drag(input.DispatchDragEventTypeDragEnter, from[0], from[1])

	// Meanwhile a colleague gives the visit to another technician; the board redraws.
	call(t, e, tok, "POST", "/api/visits/"+id+"/assign", `{"technician_id":`+strconv.FormatInt(colleagues, 10)+`,"version":`+strconv.Itoa(v.Version)+`}`, 200, nil)
	pollTrue(t, board, `!!document.querySelector('.track[data-tech="`+strconv.FormatInt(colleagues, 10)+`"] `+block+`')`)

	// He drops it on a third technician's time line.
	to, err := chromedp.Run(board, chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector('.track[data-tech="`+strconv.FormatInt(mine, 10)+`"]').getBoundingClientRect(); return [r.left + r.width * 0.9, r.top + r.height / 2]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	drag(input.DispatchDragEventTypeDragOver, to[0], to[1])
	drag(input.DispatchDragEventTypeDrop, to[0], to[1])
	mouse(input.DispatchMouseEventTypeMouseReleased, to[0], to[1], 0)
	cmd(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.SetInterceptDrags, input.SetInterceptDragsParams{Enabled: false})
		return err
	})
	waitText(t, board, "#board-msg", "Alguien más cambió esta visita")
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &v)
	if v.TechnicianID != colleagues {
		t.Errorf("after the drop the visit is with technician %d, want %d: the colleague's change was undone", v.TechnicianID, colleagues)
	}
}
