package pages_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// folioLines counts the lines the folio takes inside the element sel.
func folioLines(t testing.TB, ctx context.Context, sel, folio string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		let text = '';
		const nodes = [];
		for (let n = walk.nextNode(); n; n = walk.nextNode()) { nodes.push([n, text.length]); text += n.data; }
		const at = text.indexOf(`+jsString(folio)+`);
		if (at < 0) return 0;
		const pos = (i) => { for (let k = nodes.length - 1; k >= 0; k--) if (nodes[k][1] <= i) return [nodes[k][0], i - nodes[k][1]]; };
		const r = document.createRange();
		r.setStart(...pos(at));
		r.setEnd(...pos(at + `+strconv.Itoa(len(folio))+` - 1));
		r.setEnd(r.endContainer, r.endOffset + 1);
		return new Set([...r.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top))).size;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowserTechFolioWhole: on a 360 px phone the heading of the "could not complete" form
// broke the folio at its hyphen ("No se pudo completar · R-" over "2026-000002"); the
// technician reads it whole on one line, there and on his stop's heading.
func TestBrowserTechFolioWhole(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")
	call(t, e, token(t, e, "tec@example.mx"), "POST", "/api/visits/"+strconv.FormatInt(id, 10)+"/status", `{"status":"en_route"}`, 200, nil)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	if n := folioLines(t, ctx, "#route .stop h2", folio); n != 1 {
		t.Errorf("the stop's heading shows %s on %d lines, want 1", folio, n)
	}
	clickStep(t, ctx, "No se pudo completar")
	waitText(t, ctx, "#finish-h", folio)
	if n := folioLines(t, ctx, "#finish-h", folio); n != 1 {
		t.Errorf("the form's heading %q shows %s on %d lines, want 1", text(t, ctx, "#finish-h"), folio, n)
	}
}
