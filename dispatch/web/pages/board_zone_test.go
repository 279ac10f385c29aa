package pages_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardInAnotherZone: a dispatcher whose computer is set to Tokyo (15 hours
// ahead of Mexico City: another date most of the day) opens the board: the day it shows by
// default is Mexico City's, and each block is placed and labelled at its Mexico City hour.
func TestBrowserBoardInAnotherZone(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	day := morning.Format(time.DateOnly)
	_, id := bookedVisit(t, e, tok, day, "Sin señal")
	var v struct {
		PlannedArrival time.Time `json:"planned_arrival"`
	}
	call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	hhmm := v.PlannedArrival.In(morning.Location()).Format("15:04")

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	do(t, board, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	signInBrowser(t, board, e.URL, "%2Fboard", "disp@example.mx")
	pollTrue(t, board, `Intl.DateTimeFormat().resolvedOptions().timeZone === 'Asia/Tokyo'`) // the emulation holds
	pollTrue(t, board, `document.getElementById('day').value === '`+day+`'`)
	block := `.block[data-visit="` + strconv.FormatInt(id, 10) + `"]`
	pollTrue(t, board, `!!document.querySelector('`+block+`')`)
	label := text(t, board, block)
	if !strings.HasPrefix(label, hhmm) {
		t.Fatalf("block %q, want it to start with the Mexico City hour %s", label, hhmm)
	}
	h, m := v.PlannedArrival.In(morning.Location()).Hour(), v.PlannedArrival.In(morning.Location()).Minute()
	want := (float64(h-7) + float64(m)/60) / 14 * 100
	left, err := chromedp.Run(board, chromedp.Evaluate[float64](`parseFloat(document.querySelector('`+block+`').dataset.left)`))
	if err != nil {
		t.Fatal(err)
	}
	if left < want-0.5 || left > want+0.5 {
		t.Fatalf("block at %.2f%% of the day, want %.2f%% (%s on a 07–21 line)", left, want, hhmm)
	}
}
