package notify

import (
	"strings"
	"unicode/utf16"
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each), without the escape code.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension holds the characters reached through the escape code: two septets each.
const gsmExtension = "\f^{}\\[~]|€"

var gsmCost = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// Encoding is how an SMS body travels: GSM-7 when every character is in the GSM 03.38
// alphabet (basic or extension table), UCS-2 otherwise.
type Encoding string

// The two SMS encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// IsGSM7 reports whether every character of s can be sent in GSM-7.
func IsGSM7(s string) bool {
	for _, r := range s {
		if gsmCost[r] == 0 {
			return false
		}
	}
	return true
}

// Segments returns the encoding of s and how many SMS segments it takes: GSM-7 fits 160
// septets in one segment and 153 per segment when concatenated (an extension character
// costs two septets and is never split across segments); UCS-2 fits 70 UTF-16 code units,
// 67 when concatenated (a surrogate pair is never split). An empty body is 0 segments.
func Segments(s string) (Encoding, int) {
	if s == "" {
		return GSM7, 0
	}
	if IsGSM7(s) {
		total := 0
		for _, r := range s {
			total += gsmCost[r]
		}
		if total <= 160 {
			return GSM7, 1
		}
		segs, used := 1, 0
		for _, r := range s {
			c := gsmCost[r]
			if used+c > 153 {
				segs++
				used = 0
			}
			used += c
		}
		return GSM7, segs
	}
	units := 0
	for _, r := range s {
		units += utf16.RuneLen(r)
	}
	if units <= 70 {
		return UCS2, 1
	}
	segs, used := 1, 0
	for _, r := range s {
		c := utf16.RuneLen(r)
		if used+c > 67 {
			segs++
			used = 0
		}
		used += c
	}
	return UCS2, segs
}

// plain maps characters outside GSM-7 that Spanish and English texts commonly carry to
// their nearest GSM-7 spelling, as Twilio's "smart encoding" does.
var plain = strings.NewReplacer(
	"á", "a", "í", "i", "ó", "o", "ú", "u", "Á", "A", "Í", "I", "Ó", "O", "Ú", "U",
	"â", "a", "ê", "e", "î", "i", "ô", "o", "û", "u", "ë", "e", "ï", "i", "ç", "c",
	"È", "E", "Ì", "I", "Ò", "O", "Ù", "U", "À", "A",
	"“", "\"", "”", "\"", "‘", "'", "’", "'", "–", "-", "—", "-", "…", "...",
	"\u00a0", " ", "\t", " ",
)

// Fit returns body as it should be sent: spelled in GSM-7 (á → a, “ → ", – → -) whenever
// that makes the whole body GSM-7, which more than doubles the room per segment. It used to
// do so only when that saved a segment, so a customer read "María va en camino" after
// "lo visita Maria" and "aún" in one text, "aun" in the next: one spelling now, and never a
// segment more than needed. A body that stays outside GSM-7 even so (an emoji) travels in
// UCS-2 either way and is sent as it is, accents and all.
func Fit(body string) string {
	if IsGSM7(body) {
		return body
	}
	if alt := plain.Replace(body); IsGSM7(alt) {
		return alt
	}
	return body
}
