package pages_test

import (
	"bytes"
	"image"
	"image/jpeg"
	_ "image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// cameraPhoto writes a w×h JPEG such as a phone camera takes (noisy, large) and returns its
// path.
func cameraPhoto(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(i/4%w) ^ byte(r.IntN(64))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "camara.jpg")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fetchBytes gets url with the bearer token.
func fetchBytes(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// TestBrowserCompletionMedia: the technician completes a visit on a phone with a photo from
// the camera (resized in the browser) and the customer's signature drawn on the screen,
// without signal; both are sent once the signal returns, and the desk shows them on the
// report's detail.
func TestBrowserCompletionMedia(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")
	vid := strconv.FormatInt(id, 10)
	tech := token(t, e, "tec@example.mx")
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"en_route"}`, 200, nil)
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"on_site"}`, 200, nil)
	photo := cameraPhoto(t, 3000, 2000)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'Completar'); if (!b) return false; b.click(); return true; })()`)
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("finish-send")),
		sendKeys(chromedp.ID("cause"), "Conector dañado"),
		chromedp.Click(chromedp.CSS(`input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`input[name=restored][value=yes]`)),
		chromedp.SetUploadFiles(chromedp.ID("photo"), []string{photo}),
	)
	pollTrue(t, ctx, `document.querySelectorAll('#thumbs img').length === 1`)
	// The customer signs with a finger: a stroke across the canvas.
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const c = document.getElementById('sig'); c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	x, y, w, h := rect[0], rect[1], rect[2], rect[3]
	stroke := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x+10, y+h/2, chromedp.ButtonLeft)}
	for i := 1; i <= 20; i++ {
		stroke = append(stroke, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+10+float64(i)*(w-20)/20, y+h/2+float64(i%5*6-12), chromedp.ButtonLeft))
	}
	stroke = append(stroke, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x+w-10, y+h/2, chromedp.ButtonLeft))
	do(t, ctx, stroke...)
	shot(t, ctx, "completion-form-360")
	// No signal at the customer's door: the photo, the signature and the step wait.
	do(t, ctx, offline(true), chromedp.Click(chromedp.ID("finish-send")))
	waitText(t, ctx, "#pending", "3 acciones pendientes")
	waitText(t, ctx, "#route .badge", "Completada")
	var none struct{ Media []struct{} }
	call(t, e, tok, "GET", "/api/visits/"+vid+"/media", "", 200, &none)
	if len(none.Media) != 0 {
		t.Fatalf("%d files reached the server while offline", len(none.Media))
	}
	do(t, ctx, offline(false))

	// The server has a resized JPEG and a PNG signature.
	var list struct {
		Media []struct {
			Kind        string
			ContentType string `json:"content_type"`
			Size        int
			URL         string
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(list.Media) < 2 && time.Now().Before(deadline) {
		call(t, e, tok, "GET", "/api/visits/"+vid+"/media", "", 200, &list)
		time.Sleep(100 * time.Millisecond)
	}
	if len(list.Media) != 2 || list.Media[0].Kind != "photo" || list.Media[1].Kind != "signature" || list.Media[1].ContentType != "image/png" {
		t.Fatalf("stored media = %+v, want a photo then a PNG signature", list.Media)
	}
	_, b := fetchBytes(t, e.URL+list.Media[0].URL, tok)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || format != "jpeg" || max(cfg.Width, cfg.Height) != 1280 || len(b) > 600<<10 {
		t.Fatalf("stored photo: %s %dx%d, %d bytes (%v), want a JPEG resized to 1280 px, at most 600 KB", format, cfg.Width, cfg.Height, len(b), err)
	}
	t.Logf("3000×2000 camera photo stored as %dx%d JPEG of %d KB; signature %d KB", cfg.Width, cfg.Height, len(b)>>10, list.Media[1].Size>>10)
	pollTrue(t, ctx, `localStorage.getItem('despacho.tech.queue.' + document.getElementById('tech').dataset.tech) === '[]'`)

	// The desk shows them on the report.
	desk := tab(t, true)
	do(t, desk, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, desk, e.URL, "%2Fdesk", "disp@example.mx")
	do(t, desk,
		chromedp.WaitVisible(chromedp.ID("find-folio")),
		sendKeys(chromedp.ID("find-folio"), folio),
		chromedp.Click(chromedp.CSS(`#find button[type=submit]`)),
	)
	waitText(t, desk, "#desk-media", "Fotos y firma")
	pollTrue(t, desk, `(() => { const imgs = [...document.querySelectorAll('#desk-media img')]; return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0); })()`)
	shot(t, desk, "desk-media-1920")

	// And so does the board's detail of the visit.
	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	clickNow(t, board, `.block[data-visit="`+vid+`"]`)
	pollTrue(t, board, `document.querySelectorAll('#detail-media img').length === 2`)
}
