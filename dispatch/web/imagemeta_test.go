package web_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"despacho/dispatch/web"
)

// Sentinels planted in the metadata of test images: none may survive stripping.
const (
	secretMake   = "AcmePhone SN-4471-0093"
	secretTime   = "2024:05:17 14:03:22"
	secretXMP    = "<x:xmpmeta xmlns:x='adobe:ns:meta/'>tech: Juan Ramírez</x:xmpmeta>"
	secretIPTC   = "Photoshop 3.0\x008BIM\x04\x04 Calle Pino 12"
	secretMPF    = "MPF\x00 depth map index"
	secretComm   = "tomada en casa del cliente"
	secretAfter  = "second image with its own Exif: GPS 19.4326 -99.1332"
	secretText   = "Author\x00Juan Ramirez, tel. 55 1234 5678"
	secretPriv   = "c2pa claim: signed by Juan"
	fakeICCTail  = "not a real profile, but kept"
	orientationL = 36 // bytes of the minimal orientation-only APP1 on the wire
)

// gpsRationals are the GPS latitude and longitude as the Exif stores them: 19°25'57.36"N
// 99°7'59.52"W, each three RATIONALs (degrees, minutes, seconds×100).
var gpsRationals = []uint32{19, 1, 25, 1, 5736, 100, 99, 1, 7, 1, 5952, 100}

// byteOrder is a TIFF byte order, for reading and writing.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffEntry is an IFD entry: data longer than 4 bytes goes after the IFD.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte
}

// layoutIFD returns an IFD placed at offset start of the TIFF structure, its out-of-line
// data right after it.
func layoutIFD(bo byteOrder, start int, entries []tiffEntry) []byte {
	n := 2 + 12*len(entries) + 4
	ifd := bo.AppendUint16(nil, uint16(len(entries)))
	var extra []byte
	for _, e := range entries {
		ifd = bo.AppendUint16(ifd, e.tag)
		ifd = bo.AppendUint16(ifd, e.typ)
		ifd = bo.AppendUint32(ifd, e.count)
		if len(e.data) <= 4 {
			ifd = append(ifd, append(e.data, make([]byte, 4-len(e.data))...)...)
			continue
		}
		ifd = bo.AppendUint32(ifd, uint32(start+n+len(extra)))
		extra = append(extra, e.data...)
		if len(extra)%2 == 1 {
			extra = append(extra, 0)
		}
	}
	ifd = bo.AppendUint32(ifd, 0)
	return append(ifd, extra...)
}

// exifTIFF returns a TIFF structure as a phone writes it: IFD0 with the make, the time, the
// orientation (none when 0) and a pointer to a GPS IFD with the position.
func exifTIFF(bo byteOrder, orientation int) []byte {
	hdr := []byte("II*\x00")
	if bo == binary.BigEndian {
		hdr = []byte("MM\x00*")
	}
	hdr = bo.AppendUint32(hdr, 8)
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	short := func(v uint16) []byte { return bo.AppendUint16(nil, v) }
	var lat, lon []byte
	for i, v := range gpsRationals {
		if i < 6 {
			lat = bo.AppendUint32(lat, v)
		} else {
			lon = bo.AppendUint32(lon, v)
		}
	}
	ifd0 := func(gps uint32) []tiffEntry {
		es := []tiffEntry{{0x010f, 2, uint32(len(secretMake) + 1), ascii(secretMake)}}
		if orientation != 0 {
			es = append(es, tiffEntry{0x0112, 3, 1, short(uint16(orientation))})
		}
		return append(es,
			tiffEntry{0x0132, 2, uint32(len(secretTime) + 1), ascii(secretTime)},
			tiffEntry{0x8825, 4, 1, bo.AppendUint32(nil, gps)})
	}
	gpsAt := 8 + len(layoutIFD(bo, 8, ifd0(0)))
	gps := layoutIFD(bo, gpsAt, []tiffEntry{
		{0x0001, 2, 2, ascii("N")}, {0x0002, 5, 3, lat},
		{0x0003, 2, 2, ascii("W")}, {0x0004, 5, 3, lon},
	})
	return append(append(hdr, layoutIFD(bo, 8, ifd0(uint32(gpsAt)))...), gps...)
}

// gpsBytes returns the GPS position as stored in a TIFF of that byte order.
func gpsBytes(bo byteOrder) []byte {
	var b []byte
	for _, v := range gpsRationals {
		b = bo.AppendUint32(b, v)
	}
	return b
}

// jpegSeg returns a marker segment with its length.
func jpegSeg(marker byte, payload string) []byte {
	n := len(payload) + 2
	return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
}

// minimalOrientation is the APP1 the stripper keeps for an orientation o.
func minimalOrientation(o byte) []byte {
	return jpegSeg(0xe1, "Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00"+string([]byte{o})+"\x00\x00\x00\x00\x00\x00")
}

// testImage is a small image with detail in every channel.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8((x + y) * 3), 255})
		}
	}
	return img
}

// plainJPEG encodes a test image: the standard encoder writes no metadata at all.
func plainJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(w, h), &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// exifJPEG returns plain with what a phone adds spliced in: Exif (GPS, make, time,
// orientation), XMP, IPTC, MPF, an ICC profile, a comment, fill bytes, and a second image
// after EOI. want is what stripping must leave: the orientation alone and the ICC profile.
func exifJPEG(plain []byte, bo byteOrder, orientation int) (sent, want []byte) {
	icc := jpegSeg(0xe2, "ICC_PROFILE\x00\x01\x01"+fakeICCTail)
	head := [][]byte{
		jpegSeg(0xe1, "Exif\x00\x00"+string(exifTIFF(bo, orientation))),
		jpegSeg(0xe1, "http://ns.adobe.com/xap/1.0/\x00"+secretXMP),
		icc,
		jpegSeg(0xe2, secretMPF),
		jpegSeg(0xed, secretIPTC),
		jpegSeg(0xfe, secretComm),
		{0xff, 0xff, 0xff}, // fill bytes before the next marker
	}
	sent = append([]byte{0xff, 0xd8}, bytes.Join(head, nil)...)
	sent = append(sent, plain[2:]...)
	sent = append(sent, "\xff\xd8\xff\xe1"+secretAfter...)
	want = []byte{0xff, 0xd8}
	if orientation > 1 {
		want = append(want, minimalOrientation(byte(orientation))...)
	}
	want = append(append(want, icc...), plain[2:]...)
	return sent, want
}

// pngChunk returns a chunk with its CRC.
func pngChunk(typ, data string) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ+data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngChunks splits a PNG into its chunks (the test's own reading, not the stripper's).
func pngChunks(tb testing.TB, b []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for i := 8; i < len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		out = append(out, b[i:i+12+n])
		i += 12 + n
	}
	return out
}

func plainPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(w, h)); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// exifPNG returns plain with text, time, Exif and a private chunk added around a pHYs
// (kept) and data after IEND; want is what stripping must leave.
func exifPNG(tb testing.TB, plain []byte, orientation int) (sent, want []byte) {
	tb.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write([]byte(secretMake))
	_ = zw.Close()
	cs := pngChunks(tb, plain) // IHDR, IDAT…, IEND
	phys := pngChunk("pHYs", "\x00\x00\x0b\x13\x00\x00\x0b\x13\x01")
	sent = append([]byte("\x89PNG\r\n\x1a\n"), cs[0]...)
	for _, c := range [][]byte{
		pngChunk("tEXt", secretText),
		pngChunk("eXIf", string(exifTIFF(binary.LittleEndian, orientation))),
		phys,
		pngChunk("zTXt", "Comment\x00\x00"+z.String()),
		pngChunk("iTXt", "Description\x00\x00\x00es\x00\x00"+secretComm),
		pngChunk("tIME", "\x07\xe8\x05\x11\x0e\x03\x16"),
		pngChunk("caBX", secretPriv),
	} {
		sent = append(sent, c...)
	}
	sent = append(sent, bytes.Join(cs[1:], nil)...)
	sent = append(sent, secretAfter...)
	want = append([]byte("\x89PNG\r\n\x1a\n"), cs[0]...)
	if orientation > 1 {
		want = append(want, pngChunk("eXIf", "MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00"+string([]byte{byte(orientation)})+"\x00\x00\x00\x00\x00\x00")...)
	}
	want = append(append(want, phys...), bytes.Join(cs[1:], nil)...)
	return sent, want
}

// assertNoSecrets fails when anything planted in the metadata is still in b.
func assertNoSecrets(tb testing.TB, b []byte) {
	tb.Helper()
	for _, s := range []string{secretMake, secretTime, secretXMP, secretIPTC, secretMPF, secretComm, secretAfter, secretText, secretPriv, "Juan"} {
		if bytes.Contains(b, []byte(s)) {
			tb.Errorf("stripped file still holds %q", s)
		}
	}
	for _, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		if bytes.Contains(b, gpsBytes(bo)) {
			tb.Errorf("stripped file still holds the GPS position (%v)", bo)
		}
	}
}

// samePixels fails unless a and b decode to the same image.
func samePixels(tb testing.TB, a, b []byte) {
	tb.Helper()
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		tb.Fatalf("original does not decode: %v", err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("stripped file does not decode: %v", err)
	}
	if !reflect.DeepEqual(ia, ib) {
		tb.Fatalf("stripped file decodes to other pixels: bounds %v, want %v", ib.Bounds(), ia.Bounds())
	}
}

func TestStripJPEG(t *testing.T) {
	t.Parallel()
	plain := plainJPEG(t, 64, 48)
	for _, c := range []struct {
		name        string
		bo          byteOrder
		orientation int
	}{
		{"rotated 90°, little-endian Exif", binary.LittleEndian, 6},
		{"rotated 270°, big-endian Exif", binary.BigEndian, 8},
		{"as taken", binary.LittleEndian, 1},
		{"no orientation tag", binary.BigEndian, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sent, want := exifJPEG(plain, c.bo, c.orientation)
			got, err := web.StripJPEG(sent)
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecrets(t, got)
			if !bytes.Equal(got, want) {
				t.Fatalf("stripped:\n%q\nwant\n%q", head(got), head(want))
			}
			samePixels(t, sent, got)
			if again, err := web.StripJPEG(got); err != nil || !bytes.Equal(again, got) {
				t.Fatalf("stripping again changed the file (%v)", err)
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 120)] }

// TestStripJPEGOrientationUntrusted: an orientation the stripper cannot trust is dropped with
// the rest, and the photo is still accepted.
func TestStripJPEGOrientationUntrusted(t *testing.T) {
	t.Parallel()
	plain := plainJPEG(t, 16, 16)
	long := "Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x04\x00\x00\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00"
	for name, app1 := range map[string]string{
		"orientation as LONG":  long,
		"orientation 9":        strings.Replace(long, "\x00\x04\x00\x00\x00\x01\x00\x00\x00\x06", "\x00\x03\x00\x00\x00\x01\x00\x09\x00\x00", 1),
		"IFD past the end":     "Exif\x00\x00MM\x00*\x00\x00\xff\x08\x00\x01",
		"IFD inside header":    "Exif\x00\x00II*\x00\x02\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00",
		"entries past the end": "Exif\x00\x00II*\x00\x08\x00\x00\x00\x09\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00",
		"no TIFF header":       "Exif\x00\x00XX",
		"empty Exif":           "Exif\x00\x00",
	} {
		sent := append(append([]byte{0xff, 0xd8}, jpegSeg(0xe1, app1)...), plain[2:]...)
		got, err := web.StripJPEG(sent)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: got %d bytes (%v), want the plain %d bytes", name, len(got), err, len(plain))
		}
	}
}

// TestStripJPEGStructures: files the standard encoder cannot write come through byte for
// byte (progressive scans with tables between them, restart markers, Adobe APP14), and a
// comment between scans is dropped.
func TestStripJPEGStructures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.jpeg")
	if err != nil || len(files) < 4 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := web.StripJPEG(b)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: %v, changed: %v; want it unchanged", f, err, !bytes.Equal(got, b))
		}
		if strings.Contains(f, "progressive") {
			// After the first scan's data: the second DHT.
			i := bytes.Index(b, []byte{0xff, 0xc4, 0x00, 0x28})
			if i < 0 {
				t.Fatalf("%s: no second DHT", f)
			}
			sent := append(append(append([]byte{}, b[:i]...), jpegSeg(0xfe, secretComm)...), b[i:]...)
			if got, err := web.StripJPEG(sent); err != nil || !bytes.Equal(got, b) {
				t.Errorf("%s with a comment between scans: %v, want the file without it", f, err)
			}
			samePixels(t, sent, b)
		}
	}
}

// TestStripJPEGMalformed: a file whose segments cannot be walked is refused, never a panic;
// one cut inside its scan data is kept as sent.
func TestStripJPEGMalformed(t *testing.T) {
	t.Parallel()
	plain := plainJPEG(t, 16, 16)
	soi := "\xff\xd8"
	rest := string(plain[2:])
	for name, b := range map[string]string{
		"only SOI":                 soi,
		"not a JPEG":               "GIF89a",
		"truncated length":         soi + "\xff\xe1\x00",
		"length past the end":      soi + "\xff\xe1\x01\x00Exif\x00\x00",
		"length below 2":           soi + "\xff\xe1\x00\x01" + rest,
		"stray byte between":       soi + string(jpegSeg(0xfe, "x")) + "\x00" + rest,
		"ff00 between segments":    soi + "\xff\x00" + rest,
		"ends in fill bytes":       soi + "\xff\xff\xff",
		"EOI before any scan":      soi + "\xff\xd9",
		"a second SOI":             soi + "\xff\xd8" + rest,
		"reserved marker":          soi + "\xff\x02\x00\x02" + rest,
		"cut inside scan header":   string(plain[:bytes.Index(plain, []byte{0xff, 0xda})+5]),
		"cut before the first SOS": string(plain[:bytes.Index(plain, []byte{0xff, 0xda})]),
	} {
		if got, err := web.StripJPEG([]byte(b)); err == nil {
			t.Errorf("%s: stripped to %d bytes, want an error", name, len(got))
		}
	}
	sos := bytes.Index(plain, []byte{0xff, 0xda})
	cut := plain[:(sos+len(plain))/2+8]
	if got, err := web.StripJPEG(cut); err != nil || !bytes.Equal(got, cut) {
		t.Errorf("cut inside the scan data: %v, want it kept as sent", err)
	}
}

func TestStripPNG(t *testing.T) {
	t.Parallel()
	plain := plainPNG(t, 40, 30)
	for _, o := range []int{6, 1, 0} {
		sent, want := exifPNG(t, plain, o)
		got, err := web.StripPNG(sent)
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		assertNoSecrets(t, got)
		if !bytes.Equal(got, want) {
			t.Fatalf("orientation %d: stripped:\n%q\nwant\n%q", o, head(got), head(want))
		}
		// Every chunk kept is the very chunk sent, CRC included.
		for _, c := range pngChunks(t, got) {
			if !bytes.Contains(sent, c) && string(c[4:8]) != "eXIf" {
				t.Errorf("orientation %d: chunk %q changed", o, c[4:8])
			}
		}
		samePixels(t, sent, got)
	}
	if got, err := web.StripPNG(plain); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("a PNG without metadata changed (%v)", err)
	}
}

func TestStripPNGMalformed(t *testing.T) {
	t.Parallel()
	plain := plainPNG(t, 8, 8)
	sig, cs := plain[:8], pngChunks(t, plain)
	badCRC := bytes.Clone(plain)
	badCRC[8+len(cs[0])-1] ^= 1
	for name, b := range map[string][]byte{
		"signature only": sig,
		"no IEND":        plain[:len(plain)-12],
		"cut in a chunk": plain[:len(plain)-20],
		"bad CRC":        badCRC,
		"huge length":    append(bytes.Clone(sig), "\xff\xff\xff\xf0IDAT"...),
		"not a PNG":      []byte("\x89PNX\r\n\x1a\n"),
	} {
		if got, err := web.StripPNG(b); err == nil {
			t.Errorf("%s: stripped to %d bytes, want an error", name, len(got))
		}
	}
}

// FuzzStripImage runs both strippers on any input: they never panic, never lengthen a file,
// are idempotent, and when the input decodes the output decodes to the same pixels.
func FuzzStripImage(f *testing.F) {
	pj, pp := plainJPEG(f, 24, 16), plainPNG(f, 12, 10)
	f.Add(pj)
	f.Add(pp)
	j, _ := exifJPEG(pj, binary.LittleEndian, 6)
	f.Add(j)
	p, _ := exifPNG(f, pp, 3)
	f.Add(p)
	files, _ := filepath.Glob("testdata/*.jpeg")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 8000 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range []struct {
			strip  func([]byte) ([]byte, error)
			config func([]byte) (image.Config, error)
			decode func([]byte) (image.Image, error)
		}{
			{web.StripJPEG,
				func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) },
				func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }},
			{web.StripPNG,
				func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) },
				func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }},
		} {
			out, err := s.strip(b)
			if err != nil {
				continue
			}
			if len(out) > len(b) {
				t.Fatalf("stripped %d bytes to %d", len(b), len(out))
			}
			again, err := s.strip(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("stripping the output again: %v, changed %v", err, !bytes.Equal(again, out))
			}
			if cfg, err := s.config(b); err != nil || cfg.Width*cfg.Height > 1<<16 {
				continue // not an image, or too large to decode in a fuzz run
			}
			in, err := s.decode(b)
			if err != nil {
				continue
			}
			got, err := s.decode(out)
			if err != nil {
				t.Fatalf("input decodes, output does not: %v", err)
			}
			if !reflect.DeepEqual(in, got) {
				t.Fatalf("output decodes to other pixels")
			}
		}
	})
}
