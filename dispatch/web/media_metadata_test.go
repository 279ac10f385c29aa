package web_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"testing"

	"despacho/dispatch"
)

// TestVisitMediaStripsMetadata: a photo sent straight to the API with the phone's Exif (GPS
// position, make, time), XMP, IPTC and a comment, and a PNG with text, time and Exif chunks,
// are stored without them: what staff download has none of it, decodes to the same pixels
// (the JPEG's scan data is untouched), keeps the photo's orientation as a minimal Exif, and
// the size listed is the stripped size. A file whose segments cannot be walked is refused.
func TestVisitMediaStripsMetadata(t *testing.T) {
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

	plain := plainJPEG(t, 320, 240)
	photo, wantPhoto := exifJPEG(plain, binary.LittleEndian, 6)
	upright, wantUpright := exifJPEG(plain, binary.BigEndian, 1)
	sig, wantSig := exifPNG(t, plainPNG(t, 300, 120), 0)
	for _, c := range []struct {
		kind, key  string
		sent, want []byte
	}{
		{"photo", "exif-photo-0001", photo, wantPhoto},
		{"photo", "exif-photo-0002", upright, wantUpright},
		{"signature", "exif-signature-1", sig, wantSig},
	} {
		code, b := upload(t, ts.URL, juan, v.ID, c.kind, c.key, c.sent)
		var item mediaOut
		if err := json.Unmarshal(b, &item); err != nil || code != 201 {
			t.Fatalf("%s: %d %s, want 201", c.key, code, b)
		}
		if item.Size != len(c.want) {
			t.Errorf("%s: size %d, want the stripped %d (sent %d)", c.key, item.Size, len(c.want), len(c.sent))
		}
		res, got := do(t, "GET", ts.URL+item.URL, d, "")
		if res.StatusCode != 200 {
			t.Fatalf("%s: download %d", c.key, res.StatusCode)
		}
		assertNoSecrets(t, got)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: downloaded %d bytes, want the %d stripped ones", c.key, len(got), len(c.want))
		}
		samePixels(t, c.sent, got)
		// A retry of the same file answers the stored item.
		if code, b := upload(t, ts.URL, juan, v.ID, c.kind, c.key, c.sent); code != 200 || !bytes.Contains(b, []byte(fmt.Sprintf(`"size":%d`, len(c.want)))) {
			t.Errorf("%s: retry = %d %s, want 200 with the stripped size", c.key, code, b)
		}
	}

	// Orientation: the rotated photo keeps exactly the minimal Exif, the upright one none.
	res, got := do(t, "GET", fmt.Sprintf("%s/api/visits/%d/media/1", ts.URL, v.ID), juan, "")
	if res.StatusCode != 200 || !bytes.Equal(app1s(t, got), minimalOrientation(6)) {
		t.Errorf("rotated photo's APP1 = %q, want only Orientation 6", app1s(t, got))
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(got)); err != nil || cfg.Width != 320 || cfg.Height != 240 {
		t.Errorf("rotated photo: %+v %v, want 320×240", cfg, err)
	}
	_, got = do(t, "GET", fmt.Sprintf("%s/api/visits/%d/media/2", ts.URL, v.ID), juan, "")
	if a := app1s(t, got); len(a) != 0 {
		t.Errorf("upright photo's APP1 = %q, want none", a)
	}

	// A JPEG whose Exif segment says it is longer than the file is refused, naming the field.
	broken := append([]byte("\xff\xd8\xff\xe1\x40\x00Exif\x00\x00"), exifTIFF(binary.LittleEndian, 6)...)
	code, b := upload(t, ts.URL, juan, v.ID, "photo", "broken-photo-01", broken)
	if _, field := errorCode(t, b); code != 422 || field != "file" {
		t.Errorf("truncated Exif segment = %d %s, want 422 on file", code, b)
	}
	brokenPNG := bytes.Clone(sig)
	brokenPNG[len(brokenPNG)-len(secretAfter)-1] ^= 0xff // IEND's CRC
	code, b = upload(t, ts.URL, juan, v.ID, "photo", "broken-photo-02", brokenPNG)
	if _, field := errorCode(t, b); code != 422 || field != "file" {
		t.Errorf("PNG with a bad CRC = %d %s, want 422 on file", code, b)
	}
	var list struct{ Media []mediaOut }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/media", ts.URL, v.ID), a, "", 200, &list)
	if len(list.Media) != 3 {
		t.Fatalf("stored %d files, want 3", len(list.Media))
	}
}

// app1s returns the APP1 segments of a JPEG's header, read by the test itself.
func app1s(tb testing.TB, b []byte) []byte {
	tb.Helper()
	if _, _, err := image.Decode(bytes.NewReader(b)); err != nil {
		tb.Fatalf("not a JPEG: %v", err)
	}
	var out []byte
	for i := 2; i+4 <= len(b) && b[i] == 0xff && b[i+1] != 0xda; {
		n := int(b[i+2])<<8 | int(b[i+3])
		if b[i+1] == 0xe1 {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	return out
}
