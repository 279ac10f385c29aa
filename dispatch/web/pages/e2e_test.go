package pages_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserEndToEnd is the story: a dispatcher takes a report by phone, creates a
// visit and books a window; a second browser with the board open sees it appear without a
// reload; the dispatcher drags it to another technician; that technician, on a phone-sized
// screen, marks en route, arrived and completed with cause and verdict; the customer's status
// page shows the outcome; the description's <script> stays text everywhere.
func TestBrowserEndToEnd(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	e.user(t, "mesa@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana.tec@example.mx", dispatch.RoleTechnician)
	ub := e.user(t, "beto.tec@example.mx", dispatch.RoleTechnician)
	admin := token(t, e, "disp@example.mx")
	techA := technician(t, e, admin, "Ana Técnica", ua.ID, 19.4326, -99.1332)
	techB := technician(t, e, admin, "Beto Técnico", ub.ID, 19.4200, -99.1500)
	emailOf := map[int64]string{techA: "ana.tec@example.mx", techB: "beto.tec@example.mx"}

	// The desk: a report by phone, its visit, and a window.
	desk := tab(t, true)
	do(t, desk, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, desk, e.URL, "%2Fdesk", "disp@example.mx")
	do(t, desk,
		chromedp.WaitVisible(chromedp.ID("ticket")),
		chromedp.SetValue(chromedp.ID("channel"), "phone"),
		chromedp.SetValue(chromedp.ID("kind"), "fault"),
		sendKeys(chromedp.ID("name"), "Rosa Pérez"),
		sendKeys(chromedp.ID("phone"), "55 1111 2222"),
		sendKeys(chromedp.ID("line"), "Calle 5 #10, Centro"),
		sendKeys(chromedp.ID("lat"), "19.4400"),
		sendKeys(chromedp.ID("lon"), "-99.1400"),
		sendKeys(chromedp.ID("description"), "Sin señal "+hostile),
		chromedp.Click(chromedp.CSS(`#ticket button[type=submit]`)),
	)
	folio := text(t, desk, "#desk-folio")
	code := text(t, desk, "#desk-code")
	waitText(t, desk, "#desk-description", "<script>window.__pwned=1</script>")
	do(t, desk,
		chromedp.Click(chromedp.CSS(`#visit-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#slot-form input[name=slot]`)),
	)
	start, err := chromedp.Run(desk, chromedp.AttributeValue(chromedp.CSS(`#slot-form input[name=slot]`), "data-start"))
	if err != nil || !start.Exists {
		t.Fatalf("first slot has no start: %v", err)
	}
	st, err := time.Parse(time.RFC3339, start.Value)
	if err != nil {
		t.Fatal(err)
	}
	day := st.In(morning.Location()).Format(time.DateOnly)

	// A second person has the board of that day open.
	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "mesa@example.mx")
	waitText(t, board, "#lanes", "Beto Técnico")
	waitText(t, board, "#live-state", "En vivo")

	do(t, desk, chromedp.Click(chromedp.CSS(`#slot-form input[name=slot]`)), chromedp.Click(chromedp.CSS(`#slot-form button[type=submit]`)))
	waitText(t, desk, "#booked", "Listo")
	notPwned(t, desk)

	// The board shows the new visit without a reload.
	findBlock := `[...document.querySelectorAll('#lanes .block')].find(b => b.getAttribute('aria-label').startsWith(` + jsString(folio) + `))`
	pollTrue(t, board, `!!`+findBlock)
	id, err := chromedp.Run(board, chromedp.Evaluate[string](findBlock+`.dataset.visit`))
	if err != nil {
		t.Fatal(err)
	}
	lane, err := chromedp.Run(board, chromedp.Evaluate[string](`document.querySelector('.block[data-visit="`+id+`"]').closest('.track').dataset.tech`))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := strconv.ParseInt(lane, 10, 64)
	to := techA
	if from == techA {
		to = techB
	}
	shot(t, board, "board-1920")
	// Drag it to the other technician; the API decides, the board follows.
	dragNow(t, board, `.block[data-visit="`+id+`"]`, `.track[data-tech="`+strconv.FormatInt(to, 10)+`"]`)
	waitText(t, board, "#board-msg", "Visita asignada")
	pollTrue(t, board, `document.querySelector('.track[data-tech="`+strconv.FormatInt(to, 10)+`"] .block[data-visit="`+id+`"]') !== null`)
	// Its lane counts it in the singular, the other lane in the plural.
	count := func(tech int64) string {
		return `document.querySelector('.lane[data-lane="` + strconv.FormatInt(tech, 10) + `"] .lane-name small').textContent`
	}
	pollTrue(t, board, `/^1 visita( ·|$)/.test(`+count(to)+`)`)
	pollTrue(t, board, `/^0 visitas( ·|$)/.test(`+count(from)+`)`)
	// The detail shows the description as text and the timeline.
	clickNow(t, board, `.block[data-visit="`+id+`"]`)
	waitText(t, board, "#detail-description", "<script>window.__pwned=1</script>")
	waitText(t, board, "#detail-body", "Visita asignada")
	notPwned(t, board)
	do(t, board, chromedp.Click(chromedp.ID("detail-close")))

	// The technician, on a phone.
	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 740))
	var mu sync.Mutex
	var bytes float64
	finished := chromedp.Events(tech, network.LoadingFinished)
	go func() {
		for ev, err := range finished {
			if err != nil {
				return
			}
			mu.Lock()
			bytes += ev.EncodedDataLength
			mu.Unlock()
		}
	}()
	signInBrowser(t, tech, e.URL, "%2Ftech", emailOf[to])
	waitText(t, tech, "#route", folio)
	// A cold first load: nothing cached from the sign-in page.
	do(t, tech, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCache, cdp.Empty{})
		return err
	}))
	mu.Lock()
	bytes = 0 // count the route page itself, not the sign-in page before it
	mu.Unlock()
	do(t, tech, chromedp.Reload())
	waitText(t, tech, "#route", folio)
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	first := bytes
	mu.Unlock()
	pollTrue(t, tech, `document.querySelector('#route a.tel').getAttribute('href') === 'tel:+525511112222'`)
	waitText(t, tech, "#route .customer", "Rosa Pérez")
	pollTrue(t, tech, `document.querySelector('#route a.geo').getAttribute('href').startsWith('geo:19.44,-99.14')`)
	pollTrue(t, tech, `document.querySelector('#route a.maps').getAttribute('href').endsWith('destination=19.44,-99.14')`)
	t.Logf("technician page, first load: %.1f KB transferred", first/1024)
	if first > 100*1024 {
		t.Errorf("technician page first load = %.0f bytes, want under 100 KB", first)
	}
	step := func(label string) {
		t.Helper()
		js := `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === ` + jsString(label) + `); if (!b) return false; b.click(); return true; })()`
		pollTrue(t, tech, js)
	}
	// The customer follows the folio live.
	cust := tab(t, true)
	do(t, cust, chromedp.EmulateViewport(360, 740), chromedp.Navigate(e.URL+"/estado/"+folio+"?code="+code))
	waitText(t, cust, "#st-status", "Esperando visita")
	waitText(t, cust, "#st-window", ", entre ")
	waitText(t, cust, "#st-technician", map[int64]string{techA: "Ana", techB: "Beto"}[to])
	time.Sleep(500 * time.Millisecond) // the live feed opens after the first answer

	step("En camino")
	waitText(t, tech, "#route .badge", "En camino")
	waitText(t, cust, "#st-eta", "El técnico va en camino")
	waitText(t, cust, "#st-eta", "Llegada estimada")

	step("Llegué")
	waitText(t, tech, "#route .badge", "En el domicilio")
	waitText(t, cust, "#st-on-site", "está en su domicilio")
	step("Completar")
	do(t, tech,
		chromedp.WaitVisible(chromedp.ID("finish-send")),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, tech, "#err-cause", "Escriba la causa")
	do(t, tech,
		sendKeys(chromedp.ID("cause"), "Conector de fibra dañado"),
		chromedp.Click(chromedp.CSS(`input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`input[name=restored][value=yes]`)),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, tech, "#route .badge", "Completada")
	shot(t, tech, "tech-360")

	// The badge shows a step as soon as it is queued; the pending count
	// goes once the server has it.
	pollTrue(t, tech, `document.getElementById('pending').hidden`)
	// What the customer's page reads, so that a page that shows no outcome is told
	// apart from a server that has none.
	status := `fetch(location.pathname.replace('/estado/', '/public/reports/') + location.search).then((r) => r.text().then((b) => r.status + ' ' + b))`
	if got, err := chromedp.Run(cust, chromedp.Evaluate[string](status, chromedp.EvalAwaitPromise)); err != nil || !strings.Contains(got, `"verdict":"upheld"`) {
		t.Fatalf("public status after completion: %v %.600s", err, got)
	}
	// The open page shows the outcome live, and a reload keeps it.
	waitText(t, cust, "#st-verdict", "Procedente")
	do(t, cust, chromedp.Reload())
	waitText(t, cust, "#st-verdict", "Procedente")
	waitText(t, cust, "#st-cause", "Conector de fibra dañado")
	waitText(t, cust, "#st-restored", "Sí")
	shot(t, cust, "status-360")
	notPwned(t, cust)

	// A board that loses its live connection says so.
	e.stopLive()
	waitText(t, board, "#conn", "Reconectando")
}
