package web

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A technician's photo sent straight to the API keeps what the phone wrote into it: the GPS
// position (the customer's home), the camera's serial number, the time, the owner's name.
// stripMetadata removes it before the file is stored, without re-encoding: the image data
// is copied byte for byte, so nothing is lost and the decoded pixels are the same.
//
// Both strippers keep what they know is needed to show the image and drop everything else
// (an allow-list: a vendor's new metadata segment is dropped, not leaked):
//
//   - JPEG keeps APP0 (JFIF), APP2 ICC_PROFILE (the colours), APP14 (Adobe: how CMYK and
//     YCCK files are decoded) and every non-APP segment (tables, frame, scans); it drops
//     APP1 (Exif, XMP), APP13 (IPTC, Photoshop), COM, the other APP2 (MPF, FlashPix) and
//     APP3–APP12, APP15. Scan data is copied verbatim. What follows EOI is dropped: phones
//     append there their MPF second images (depth map, HDR gain map, preview), each with
//     its own Exif, and the MPF index that pointed at them is gone anyway.
//   - PNG keeps the critical chunks and the registered ancillary chunks that say how to
//     show the image (tRNS, gAMA, cHRM, sRGB, iCCP, cICP, mDCv, cLLi, sBIT, bKGD, hIST,
//     pHYs, sPLT, sCAL, oFFs, pCAL, sTER, acTL, fcTL, fdAT), each copied verbatim with its
//     CRC; it drops eXIf, tEXt, zTXt, iTXt, tIME and any private chunk (caBX, a pre-standard
//     exIf…). What follows IEND is dropped.
//
// Orientation: a phone stores a photo as the sensor saw it and says "turn it" in the Exif
// Orientation tag; browsers honour that tag (image-orientation: from-image is the default)
// and read it only from Exif, never from XMP. Dropping it would show some photos
// sideways to the dispatcher, so when the file said a turn was needed (Orientation 2–8)
// the stripper writes in place of the Exif a minimal one holding that tag alone: a TIFF
// header and one IFD of one entry, no offsets to anything else. Orientation 1 (as taken)
// is the default and needs no Exif at all. The page's own photos come through a canvas,
// which draws them upright, and carry none.
//
// The result is never longer than the input: the minimal Exif is the smallest Exif that
// can hold the tag, so it replaces one at least as long.
//
// A file whose structure cannot be walked (a truncated segment or chunk, a length that
// runs past the end, a bad CRC, bytes where a marker must be) is refused with an error
// rather than stored half-understood. A JPEG cut short inside its scan data is kept as
// sent (browsers show what there is); it holds no metadata after that point.
func stripMetadata(contentType string, body []byte) ([]byte, error) {
	switch contentType {
	case "image/jpeg":
		return stripJPEG(body)
	case "image/png":
		return stripPNG(body)
	}
	return nil, fmt.Errorf("cannot read %s", contentType)
}

// JPEG markers the stripper must tell apart (ITU T.81 table B.1).
const (
	jpegTEM   = 0x01
	jpegRST0  = 0xd0
	jpegRST7  = 0xd7
	jpegSOI   = 0xd8
	jpegEOI   = 0xd9
	jpegSOS   = 0xda
	jpegAPP0  = 0xe0
	jpegAPP1  = 0xe1
	jpegAPP2  = 0xe2
	jpegAPP14 = 0xee
	jpegAPP15 = 0xef
	jpegCOM   = 0xfe
)

var (
	exifHeader = []byte("Exif\x00\x00")
	iccHeader  = []byte("ICC_PROFILE\x00")
)

// jpegSegment is one marker of a JPEG as found by walkJPEG: data is the whole segment from
// its 0xFF (fill bytes left out), and for SOS also the entropy-coded data that follows it,
// up to the next marker.
type jpegSegment struct {
	marker byte
	data   []byte
}

// payload is the segment's content after the marker and the length.
func (s jpegSegment) payload() []byte {
	if len(s.data) < 4 || s.marker == jpegSOS {
		return nil
	}
	return s.data[4:]
}

// walkJPEG calls yield for every marker of b after SOI, in order, through EOI (or the end of
// a scan cut short). It reports the first structural fault; it never reads past b.
func walkJPEG(b []byte, yield func(jpegSegment)) error {
	if len(b) < 2 || b[0] != 0xff || b[1] != jpegSOI {
		return errors.New("does not start with a JPEG start-of-image marker")
	}
	scans := 0
	for i := 2; ; {
		if i == len(b) {
			if scans == 0 {
				return errors.New("ends before its image data")
			}
			return nil // a progressive file cut between scans: what there is, is shown
		}
		if b[i] != 0xff {
			return fmt.Errorf("has stray data at byte %d where a marker must be", i)
		}
		start := i
		for i < len(b) && b[i] == 0xff { // fill bytes (B.1.1.2)
			i++
		}
		if i == len(b) {
			return errors.New("ends inside a marker")
		}
		m := b[i]
		i++
		switch {
		case m == 0x00:
			return fmt.Errorf("has stray data at byte %d where a marker must be", start)
		case m == jpegEOI:
			if scans == 0 {
				return errors.New("ends before its image data")
			}
			yield(jpegSegment{marker: m, data: b[i-2 : i]})
			return nil
		case m == jpegSOI:
			return errors.New("has a second start-of-image marker")
		case m == jpegTEM || (m >= jpegRST0 && m <= jpegRST7):
			yield(jpegSegment{marker: m, data: b[i-2 : i]}) // standalone: no length
			continue
		case m < 0xc0:
			return fmt.Errorf("has a reserved marker 0x%02X", m)
		}
		if len(b)-i < 2 {
			return fmt.Errorf("ends inside the length of marker 0x%02X", m)
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 {
			return fmt.Errorf("has a bad length %d for marker 0x%02X", n, m)
		}
		if len(b)-i < n {
			return fmt.Errorf("ends inside marker 0x%02X (%d bytes announced, %d left)", m, n, len(b)-i)
		}
		seg := i - 2
		i += n
		if m == jpegSOS {
			i = scanEnd(b, i)
			scans++
		}
		// The segment as 0xFF, marker, rest: b[seg] is the last fill byte, always 0xFF.
		yield(jpegSegment{marker: m, data: b[seg:i]})
	}
}

// scanEnd returns where the entropy-coded data starting at i ends: at the first marker
// that is not a restart (0xFF followed, after any fill bytes, by anything but 0x00 or
// RSTn), or at the end of b for a file cut short.
func scanEnd(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i:], 0xff)
		if j < 0 {
			return len(b)
		}
		k := i + j
		for k < len(b) && b[k] == 0xff {
			k++
		}
		if k == len(b) {
			return len(b)
		}
		if c := b[k]; c != 0x00 && (c < jpegRST0 || c > jpegRST7) {
			return i + j
		}
		i = k + 1
	}
}

// keepJPEG reports whether a segment stays: see stripMetadata.
func keepJPEG(s jpegSegment) bool {
	switch {
	case s.marker == jpegCOM:
		return false
	case s.marker == jpegAPP0, s.marker == jpegAPP14:
		return true
	case s.marker == jpegAPP2:
		return bytes.HasPrefix(s.payload(), iccHeader)
	case s.marker >= jpegAPP1 && s.marker <= jpegAPP15:
		return false
	}
	return true
}

// stripJPEG returns b without its metadata segments: see stripMetadata.
func stripJPEG(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	out = append(out, 0xff, jpegSOI)
	orientation := false
	err := walkJPEG(b, func(s jpegSegment) {
		if keepJPEG(s) {
			out = append(out, s.data...)
			return
		}
		if s.marker != jpegAPP1 || orientation || !bytes.HasPrefix(s.payload(), exifHeader) {
			return
		}
		// The first Exif decides, as for a browser.
		orientation = true
		if o := exifOrientation(s.payload()[len(exifHeader):]); o > 1 {
			tiff := orientationTIFF(o)
			n := 2 + len(exifHeader) + len(tiff)
			out = append(out, 0xff, jpegAPP1, byte(n>>8), byte(n))
			out = append(out, exifHeader...)
			out = append(out, tiff...)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// exifOrientation returns the Orientation tag (0x0112) of IFD0 of a TIFF structure, 0 when
// there is none, it is not a single SHORT from 1 to 8, or the structure is not sound enough
// to trust: IFD0 must lie whole (with its next-IFD offset) inside tiff.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(bo.Uint32(tiff[4:]))
	if ifd < 8 || ifd > int64(len(tiff))-2 {
		return 0
	}
	count := int64(bo.Uint16(tiff[ifd:]))
	if ifd+2+12*count+4 > int64(len(tiff)) {
		return 0
	}
	for e := ifd + 2; e < ifd+2+12*count; e += 12 {
		tag, typ, n := bo.Uint16(tiff[e:]), bo.Uint16(tiff[e+2:]), bo.Uint32(tiff[e+4:])
		if tag != 0x0112 {
			continue
		}
		if v := int(bo.Uint16(tiff[e+8:])); typ == 3 && n == 1 && v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// orientationTIFF returns the smallest TIFF structure holding Orientation o: the header,
// IFD0 with that one entry, and no next IFD (26 bytes).
func orientationTIFF(o int) []byte {
	t := []byte("MM\x00*\x00\x00\x00\x08" + // big-endian, IFD0 at 8
		"\x00\x01" + // one entry
		"\x01\x12\x00\x03\x00\x00\x00\x01" + // Orientation, SHORT, count 1
		"\x00\x00\x00\x00" + // value, left-justified
		"\x00\x00\x00\x00") // no next IFD
	binary.BigEndian.PutUint16(t[18:], uint16(o))
	return t
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngKept are the ancillary chunks that say how to show an image: see stripMetadata.
var pngKept = map[string]bool{
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "cICP": true,
	"mDCv": true, "cLLi": true, "sBIT": true, "bKGD": true, "hIST": true, "pHYs": true,
	"sPLT": true, "sCAL": true, "oFFs": true, "pCAL": true, "sTER": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

// pngChunk is one chunk as found by walkPNG: data is the whole chunk, length to CRC.
type pngChunk struct {
	typ  string
	data []byte
}

func (c pngChunk) payload() []byte { return c.data[8 : len(c.data)-4] }

// walkPNG calls yield for every chunk of b through IEND, after checking its length and
// CRC. It reports the first structural fault; it never reads past b.
func walkPNG(b []byte, yield func(pngChunk)) error {
	if !bytes.HasPrefix(b, pngSignature) {
		return errors.New("does not start with the PNG signature")
	}
	for i := len(pngSignature); ; {
		if len(b)-i < 12 {
			return errors.New("ends before its IEND chunk")
		}
		n := int64(binary.BigEndian.Uint32(b[i:]))
		if n > 1<<31-1 || n > int64(len(b)-i-12) {
			return fmt.Errorf("ends inside chunk %q (%d bytes announced)", b[i+4:i+8], n)
		}
		end := i + 12 + int(n)
		c := pngChunk{typ: string(b[i+4 : i+8]), data: b[i:end]}
		if crc32.ChecksumIEEE(b[i+4:end-4]) != binary.BigEndian.Uint32(b[end-4:]) {
			return fmt.Errorf("has a bad checksum in chunk %q", c.typ)
		}
		yield(c)
		if c.typ == "IEND" {
			return nil
		}
		i = end
	}
}

// keepPNG reports whether a chunk stays: critical chunks (upper-case first letter) always,
// ancillary ones when they are in pngKept.
func keepPNG(c pngChunk) bool {
	return c.typ[0]&0x20 == 0 || pngKept[c.typ]
}

// stripPNG returns b without its metadata chunks: see stripMetadata.
func stripPNG(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	out = append(out, pngSignature...)
	orientation := false
	err := walkPNG(b, func(c pngChunk) {
		if keepPNG(c) {
			out = append(out, c.data...)
			return
		}
		if c.typ != "eXIf" || orientation {
			return
		}
		orientation = true
		// Some writers keep JPEG's "Exif\0\0" in front of the TIFF structure.
		if o := exifOrientation(bytes.TrimPrefix(c.payload(), exifHeader)); o > 1 {
			tiff := orientationTIFF(o)
			start := len(out)
			out = binary.BigEndian.AppendUint32(out, uint32(len(tiff)))
			out = append(out, "eXIf"...)
			out = append(out, tiff...)
			out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+4:]))
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
