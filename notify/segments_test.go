package notify

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		enc  Encoding
		segs int
	}{
		{"empty", "", GSM7, 0},
		{"one char", "a", GSM7, 1},
		{"160 GSM", strings.Repeat("a", 160), GSM7, 1},
		{"161 GSM", strings.Repeat("a", 161), GSM7, 2},
		{"306 GSM", strings.Repeat("a", 306), GSM7, 2},
		{"307 GSM", strings.Repeat("a", 307), GSM7, 3},
		{"basic accents stay GSM", "é è ñ Ñ ü ¿ ¡ à ù ì ò Ç Ø Å Æ ß É £ ¥ § Δ", GSM7, 1},
		{"80 euro signs are 160 septets", strings.Repeat("€", 80), GSM7, 1},
		{"81 euro signs", strings.Repeat("€", 81), GSM7, 2},
		{"escape not split across segments", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 10), GSM7, 2},
		// 152 a + "{" would straddle: segment 1 holds 152, then "{" (2) + 152 a = 154 > 153.
		{"escape pushes a third segment", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 152), GSM7, 3},
		{"extension table", "^{}\\[~]|€\f", GSM7, 1},
		{"70 UCS-2", strings.Repeat("á", 70), UCS2, 1},
		{"71 UCS-2", strings.Repeat("á", 71), UCS2, 2},
		{"134 UCS-2", strings.Repeat("á", 134), UCS2, 2},
		{"135 UCS-2", strings.Repeat("á", 135), UCS2, 3},
		{"one accent makes all UCS-2", "á" + strings.Repeat("a", 69), UCS2, 1},
		{"one accent, 71 chars", "á" + strings.Repeat("a", 70), UCS2, 2},
		{"emoji is two code units", strings.Repeat("😀", 35), UCS2, 1},
		{"emoji 36", strings.Repeat("😀", 36), UCS2, 2},
		{"surrogate pair not split", strings.Repeat("a", 66) + "😀" + strings.Repeat("a", 10), UCS2, 2},
		{"en dash is not GSM", "10:00–12:00", UCS2, 1},
	}
	for _, tt := range tests {
		enc, n := Segments(tt.body)
		if enc != tt.enc || n != tt.segs {
			t.Errorf("%s: Segments = %s, %d; want %s, %d", tt.name, enc, n, tt.enc, tt.segs)
		}
	}
}

// TestFit: a body is spelled in GSM-7 whenever it can be. Accents were kept in a text short
// enough to fit one UCS-2 segment and dropped from a longer one, so a customer read
// "María va en camino" after "lo visita Maria": one spelling in all his texts now.
func TestFit(t *testing.T) {
	t.Parallel()
	short := "María va en camino: sáb 30 nov."
	if got, want := Fit(short), "Maria va en camino: sab 30 nov."; got != want {
		t.Errorf("Fit(%q) = %q; want %q, spelled as the longer texts are", short, got, want)
	}
	long := "Aquí está su información: " + strings.Repeat("visita técnica ", 6)
	got := Fit(long)
	if !IsGSM7(got) {
		t.Fatalf("Fit(long) = %q; want GSM-7", got)
	}
	if !strings.HasPrefix(got, "Aqui esta su informacion: visita técnica") {
		t.Errorf("Fit(long) = %q; want accents outside GSM-7 dropped, é kept", got)
	}
	emoji := strings.Repeat("á", 80) + "😀"
	if got := Fit(emoji); got != emoji {
		t.Errorf("Fit with an emoji changed the body to %q; want unchanged", got)
	}
}
