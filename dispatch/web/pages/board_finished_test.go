package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserBoardFinishedVisitOffersNoMove: the board's detail offers a dispatcher only the
// changes the API can make. A completed visit offered "Asignar" and "Fijar" and its block
// could be dragged, a visit under way offered "Asignar": each refused once tried ("no se
// puede" after the click or the drop). Now a completed visit offers neither and does not
// drag; one under way may still be pinned; a booked one may still be moved, pinned and
// dragged.
func TestBrowserBoardFinishedVisitOffersNoMove(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	day := morning.Format(time.DateOnly)
	var ids []string
	for _, d := range []string{"Primera", "Segunda", "Tercera"} {
		_, id := bookedVisit(t, e, tok, day, d)
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	tt := token(t, e, "tec@example.mx")
	for _, body := range []string{`{"status":"en_route"}`, `{"status":"on_site"}`,
		`{"status":"completed","cause":"Conector dañado; se cambió","verdict":"upheld","service_restored":true}`} {
		call(t, e, tt, "POST", "/api/visits/"+ids[0]+"/status", body, 200, nil)
	}
	call(t, e, tt, "POST", "/api/visits/"+ids[1]+"/status", `{"status":"en_route"}`, 200, nil)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	for i, want := range []struct {
		status          string
		move, pin, drag bool
	}{
		{"Completada", false, false, false},
		{"En camino", false, true, false},
		{"Agendada", true, true, true},
	} {
		block := `.block[data-visit="` + ids[i] + `"]`
		pollTrue(t, board, `!!document.querySelector('`+block+`')`)
		clickNow(t, board, block)
		waitText(t, board, "#detail-body .badge", want.status)
		got, err := chromedp.Run(board, chromedp.Evaluate[[]bool](`[!!document.getElementById('move-btn'), !!document.getElementById('move-to'),
			!!document.getElementById('pin-btn'), document.querySelector('`+block+`').draggable]`))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint([]bool{want.move, want.move, want.pin, want.drag}) {
			t.Errorf("%s visit: assign button, technician list, pin button, draggable = %v, want %v",
				want.status, got, []bool{want.move, want.move, want.pin, want.drag})
		}
		do(t, board, chromedp.Click(chromedp.ID("detail-close")))
	}
}
