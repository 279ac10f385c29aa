package pages_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardReportSLA: the board colours the queue and the time line by the report's
// resolution deadline, not only by the visit's own window. Two urgent faults (4 h) and a
// normal one are filed at 08:00; at 11:20 the urgent ones are at risk — the waiting one
// heads the queue, marked amber with its due time, and the booked one's block is amber —
// while the normal one stays plain; at 12:01 both urgent ones show the deadline missed.
func TestBrowserBoardReportSLA(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	var mu sync.Mutex
	now := morning
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	e := newEnvAt(t, clock)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)

	report := func(name, phone, priority string) (string, string) {
		t.Helper()
		var tk struct{ Folio string }
		call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":"fault","priority":%q,"customer":{"name":%q,"phone":%q},
			"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, priority, name, phone), 201, &tk)
		var v struct{ ID int64 }
		call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
		return tk.Folio, strconv.FormatInt(v.ID, 10)
	}
	_, normal := report("Nora Normal", "5511110001", "normal")
	_, waiting := report("Ursula Urgente", "5511110002", "urgent")
	bookedFolio, booked := report("Bruno Agendado", "5511110003", "urgent")
	var slots struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", "/api/visits/"+booked+"/slots?from="+morning.Format(time.DateOnly)+"&days=1", "", 200, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no window to book today")
	}
	// The day's last window: one that went by before 12:01 with nobody on the way would
	// be missed, and head the queue as such.
	s := slots.Slots[len(slots.Slots)-1]
	call(t, e, tok, "POST", "/api/visits/"+booked+"/book", fmt.Sprintf(`{"start":%q,"end":%q}`, s.Start, s.End), 200, nil)

	set(morning.Add(3*time.Hour + 20*time.Minute))
	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	due := morning.Add(4 * time.Hour).Format("15:04")
	waitText(t, board, `#queue li[data-visit="`+waiting+`"]`, "Plazo del reporte en riesgo · vence "+due)
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+waiting+`"]').classList.contains('sla-at_risk')`)
	pollTrue(t, board, `document.querySelector('#queue li').dataset.visit === '`+waiting+`'`) // most pressing first
	pollTrue(t, board, `(() => { const li = document.querySelector('#queue li[data-visit="`+normal+`"]'); return li && li.dataset.sla === 'ok' && !/Plazo/.test(li.textContent); })()`)
	pollTrue(t, board, `(() => { const b = document.querySelector('.block[data-visit="`+booked+`"]'); return b && b.classList.contains('sla-at_risk') && b.getAttribute('aria-label').includes('Plazo del reporte en riesgo'); })()`)
	shot(t, board, "sla-at-risk")

	// Past the due time: missed, in red, after a reload (the SLA job's event would do it live).
	set(morning.Add(4*time.Hour + time.Minute))
	do(t, board, chromedp.Reload())
	waitText(t, board, `#queue li[data-visit="`+waiting+`"]`, "Plazo del reporte vencido · venció "+due)
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+waiting+`"]').classList.contains('sla-breached')`)
	pollTrue(t, board, `document.querySelector('.block[data-visit="`+booked+`"]').dataset.sla === 'breached'`)
	// The detail says it too.
	clickNow(t, board, `.block[data-visit="`+booked+`"]`)
	waitText(t, board, "#detail-sla", "Plazo del reporte vencido")
	waitText(t, board, "#detail-body", bookedFolio)
}
