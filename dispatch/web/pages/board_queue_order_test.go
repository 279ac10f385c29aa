package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardQueueByDeadline: two faults filed at the desk at 08:00, a normal one
// first and then an urgent one (due in 4 hours, far sooner than the normal one), each with
// a visit waiting for a window. Neither report is at risk yet and the desk gives no visit
// a priority of its own, so the queue used to list them oldest first: the urgent fault
// sat below every older report until its deadline was nearly gone. Among visits alike in
// every other way, the one whose report is due first now comes first.
func TestBrowserBoardQueueByDeadline(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	report := func(name, phone, priority string) string {
		t.Helper()
		var tk struct{ Folio string }
		call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":"fault","priority":%q,"customer":{"name":%q,"phone":%q},
			"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, priority, name, phone), 201, &tk)
		var v struct{ ID int64 }
		call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
		return strconv.FormatInt(v.ID, 10)
	}
	normal := report("Nora Normal", "5511110001", "normal")
	urgent := report("Ursula Urgente", "5511110002", "urgent")

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	pollTrue(t, board, `document.querySelectorAll('#queue li[data-visit]').length === 2`)
	order, err := chromedp.Run(board, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#queue li[data-visit]')].map((li) => li.dataset.visit + ':' + li.dataset.sla)`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{urgent + ":ok", normal + ":ok"}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("queue = %v, want %v (the urgent fault, due first, then the normal one)", order, want)
	}
}
