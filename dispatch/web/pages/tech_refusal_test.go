package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTechRefusalIsTheVisits: a step the server refuses because the visit moved on
// meanwhile (cancelled while the technician had no signal) says it is the visit's state
// that does not allow it, as the board says it (code.illegal_transition.visit); the page
// gave the neutral code.illegal_transition text, which names no visit.
func TestBrowserTechRefusalIsTheVisits(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Cancelada")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'En camino'); if (!b) return false; b.click(); return true; })()`)
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	call(t, e, tok, "POST", "/api/visits/"+strconv.FormatInt(id, 10)+"/cancel", `{}`, 200, nil)
	do(t, ctx, offline(false))
	waitText(t, ctx, "#pending", "no es posible en el estado actual de la visita")
	shot(t, ctx, "tech-refusal-360")
}
