package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"despacho/dispatch"
)

// testJPEG returns a w×h JPEG of noise (noise does not compress: big files for the limits).
func testJPEG(tb testing.TB, w, h int, seed uint64) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func testPNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewGray(image.Rect(0, 0, 300, 120))
	for x := 20; x < 280; x++ {
		img.Set(x, 60+x%20, color.White)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a file as the visit's media and returns the status and body.
func upload(tb testing.TB, base, token string, visit int64, kind, key string, body []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/visits/%d/media?kind=%s", base, visit, kind), bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "image/jpeg") // what a careless client says; the server sniffs
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

type mediaOut struct {
	VisitID     int64 `json:"visit_id"`
	N           int
	Kind        string
	ContentType string `json:"content_type"`
	Size        int
	URL         string
}

func TestVisitMedia(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	pedro := login(t, ts, users, "pedro@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "juan@despacho.example.mx", "Juan", 19.43, -99.13)
	createTechFor(t, ts, d, users, "pedro@despacho.example.mx", "Pedro", 29.43, -99.13)
	folio := createTicket(t, ts, a, 19.40, -99.16)
	v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, nil)
	photo := testJPEG(t, 320, 240, 1)

	// Before the technician is at the address, nothing is taken.
	if code, b := upload(t, ts.URL, juan, v.ID, "photo", "key-early-0001", photo); code != 409 {
		t.Fatalf("photo before on_site = %d %s, want 409", code, b)
	}
	step := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, v.ID)
	mustJSON(t, "POST", step, juan, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", step, juan, `{"status":"on_site"}`, 200, nil)

	bad := []struct {
		name, token, kind, key string
		body                   []byte
		status                 int
		field                  string
	}{
		{"another technician", pedro, "photo", "key-pedro-0001", photo, 404, ""},
		{"dispatcher", d, "photo", "key-disp-00001", photo, 403, ""},
		{"unknown kind", juan, "video", "key-video-0001", photo, 422, "kind"},
		{"no key", juan, "photo", "", photo, 422, "Idempotency-Key"},
		{"short key", juan, "photo", "abc", photo, 422, "Idempotency-Key"},
		{"not an image", juan, "photo", "key-text-00001", []byte("<html><script>alert(1)</script></html>"), 422, "file"},
		{"empty", juan, "photo", "key-empty-0001", nil, 422, "file"},
		{"photo too large", juan, "photo", "key-large-0001", testJPEG(t, 900, 900, 2), 413, "file"},
		{"signature too large", juan, "signature", "key-large-0002", testJPEG(t, 480, 360, 3), 413, "file"},
	}
	for _, c := range bad {
		code, b := upload(t, ts.URL, c.token, v.ID, c.kind, c.key, c.body)
		var field string
		if code != 403 {
			_, field = errorCode(t, b)
		}
		if code != c.status || field != c.field {
			t.Errorf("%s: got %d field %q (%s), want %d field %q", c.name, code, field, b, c.status, c.field)
		}
	}

	// Five photos and a signature; a retry of a file stores nothing new.
	for i := range 5 {
		code, b := upload(t, ts.URL, juan, v.ID, "photo", fmt.Sprintf("photo-key-%04d", i), testJPEG(t, 320, 240, uint64(10+i)))
		if code != 201 {
			t.Fatalf("photo %d = %d %s, want 201", i+1, code, b)
		}
	}
	code, b := upload(t, ts.URL, juan, v.ID, "photo", "photo-key-0002", photo)
	var again mediaOut
	_ = json.Unmarshal(b, &again)
	if code != 200 || again.N != 3 {
		t.Fatalf("retried photo = %d %s, want 200 with n 3", code, b)
	}
	if code, b := upload(t, ts.URL, juan, v.ID, "photo", "photo-key-0005", photo); code != 409 || !strings.Contains(string(b), "too_many_photos") {
		t.Fatalf("sixth photo = %d %s, want 409 too_many_photos", code, b)
	}
	sig := testPNG(t)
	if code, b := upload(t, ts.URL, juan, v.ID, "signature", "signature-0001", sig); code != 201 {
		t.Fatalf("signature = %d %s, want 201", code, b)
	}
	if code, b := upload(t, ts.URL, juan, v.ID, "signature", "signature-0002", sig); code != 409 {
		t.Fatalf("second signature = %d %s, want 409", code, b)
	}

	// Staff and the technician read them; another technician does not.
	var list struct{ Media []mediaOut }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/media", ts.URL, v.ID), a, "", 200, &list)
	if len(list.Media) != 6 || list.Media[5].Kind != "signature" || list.Media[5].ContentType != "image/png" || list.Media[0].ContentType != "image/jpeg" {
		t.Fatalf("media list = %+v, want 5 JPEG photos and a PNG signature", list.Media)
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/media", ts.URL, v.ID), juan, "", 200, nil)
	if res, b := do(t, "GET", fmt.Sprintf("%s/api/visits/%d/media", ts.URL, v.ID), pedro, ""); res.StatusCode != 404 {
		t.Fatalf("another technician's list = %d %s, want 404", res.StatusCode, b)
	}
	var byFolio struct{ Media []mediaOut }
	mustJSON(t, "GET", ts.URL+"/api/tickets/"+folio+"/media", a, "", 200, &byFolio)
	if len(byFolio.Media) != 6 {
		t.Fatalf("report media = %d items, want 6", len(byFolio.Media))
	}
	res, got := do(t, "GET", ts.URL+list.Media[5].URL, d, "")
	if res.StatusCode != 200 || !bytes.Equal(got, sig) {
		t.Fatalf("signature bytes: %d, %d bytes, want 200 and the %d bytes uploaded", res.StatusCode, len(got), len(sig))
	}
	for k, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"} {
		if g := res.Header.Get(k); g != want {
			t.Errorf("%s = %q, want %q", k, g, want)
		}
	}
	if res, _ := do(t, "GET", fmt.Sprintf("%s/api/visits/%d/media/7", ts.URL, v.ID), d, ""); res.StatusCode != 404 {
		t.Errorf("media 7 = %d, want 404", res.StatusCode)
	}
	if res, _ := do(t, "GET", ts.URL+list.Media[0].URL, pedro, ""); res.StatusCode != 404 {
		t.Errorf("another technician's photo = %d, want 404", res.StatusCode)
	}
	types := strings.Join(timeline(t, ts, a, folio), ",")
	if n := strings.Count(types, "visit.media_added"); n != 6 {
		t.Errorf("timeline has %d visit.media_added, want 6: %s", n, types)
	}
}

// TestVisitMediaRetriesRace sends the same file under the same key from several
// connections at once, as a phone whose answers were lost may: one item is stored.
func TestVisitMediaRetriesRace(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "juan@despacho.example.mx", "Juan", 19.43, -99.13)
	folio := createTicket(t, ts, a, 19.40, -99.16)
	v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, nil)
	step := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, v.ID)
	mustJSON(t, "POST", step, juan, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", step, juan, `{"status":"on_site"}`, 200, nil)
	photo := testJPEG(t, 200, 150, 7)
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Go(func() { codes[i], _ = upload(t, ts.URL, juan, v.ID, "photo", "same-key-0001", photo) })
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 200:
		default:
			t.Errorf("concurrent retry answered %d, want 200 or 201", c)
		}
	}
	var list struct{ Media []mediaOut }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/media", ts.URL, v.ID), a, "", 200, &list)
	if created != 1 || len(list.Media) != 1 {
		t.Fatalf("got %d created and %d stored, want 1 and 1", created, len(list.Media))
	}
}
