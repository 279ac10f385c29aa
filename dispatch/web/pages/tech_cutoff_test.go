package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTechAnswerCutOff: the answer to his completion's photo, then to the step
// itself, is lost after its headers (the signal goes while it comes, or the page leaves for
// sign-in). That is no answer: both stay queued and go again under their keys. Before, the
// failed read of the answer's body escaped api() as a TypeError, which the queue took for a
// refusal: the photo was dropped as "refused" and the step dropped with "an error of
// ours", though the server had taken neither (seen as the photo missing from the queue of
// TestBrowserSignInWaitsForForm, under load, when the page left while the photo's 401 came).
func TestBrowserTechAnswerCutOff(t *testing.T) {
	t.Parallel()
	l, tok, _, folio, id := onSiteEnv(t, "Respuesta cortada")
	vid := strconv.FormatInt(id, 10)

	ctx := tab(t, true)
	signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route .badge", "En el domicilio")
	waitText(t, ctx, "#route", folio)
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'Completar'); if (!b) return false; b.click(); return true; })()`)
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("cause")),
		sendKeys(chromedp.ID("cause"), "Conector dañado"),
		chromedp.SetUploadFiles(chromedp.ID("photo"), []string{cameraPhoto(t, 800, 600)}),
	)
	pollTrue(t, ctx, `document.querySelectorAll('#thumbs img').length === 1`)
	l.cutMedia.Store(1)
	l.cutSteps.Store(1)
	clickNow(t, ctx, `input[name=verdict][value=upheld]`)
	clickNow(t, ctx, `input[name=restored][value=yes]`)
	clickNow(t, ctx, "#finish-send")

	// Each cut answer leaves its action queued; the signal coming back sends it again.
	deadline := time.Now().Add(60 * time.Second)
	for l.cutMedia.Load() >= 0 || l.cutSteps.Load() >= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("answers still to cut after 60 s: %d uploads, %d steps (the page sent no more)", l.cutMedia.Load(), l.cutSteps.Load())
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`dispatchEvent(new Event('online'))`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	waitStatus(t, l.env, tok, id, "completed")
	pollTrue(t, ctx, techQueue+`.length === 0`)
	var media struct{ Media []struct{ Kind string } }
	call(t, l.env, tok, "GET", "/api/visits/"+vid+"/media", "", 200, &media)
	if len(media.Media) != 1 || media.Media[0].Kind != "photo" {
		t.Errorf("stored media = %+v, want the photo taken in the form", media.Media)
	}
	if p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('pending').hidden ? '' : document.getElementById('pending').textContent`)); err != nil || p != "" {
		t.Errorf("pending note = %q (%v), want none: nothing was refused", p, err)
	}
}
