package pages

import (
	"regexp"
	"testing"
)

// TestTimelineReasonsTranslated: every reason code the stores write on a timeline (a
// Reason… constant) has a text in Spanish and English, as reason.CODE: the timeline shows
// the code's text (timeline.js tr('reason.', …)), else the raw value. A held visit's step
// read "held while incident I-2026-000001 is open", and a sick day's "technician unavailable;
// no one else can keep the window", in English on the Spanish desk.
func TestTimelineReasonsTranslated(t *testing.T) {
	code := regexp.MustCompile(`\bReason[A-Z][A-Za-z]*\s*=\s*"([a-z_]+)"`)
	seen := sourceMatches(t, code)
	if len(seen) < 5 {
		t.Fatalf("found only %d reason codes: is the walk looking in the right place?", len(seen))
	}
	for c, where := range seen {
		tr, ok := catalog["reason."+c]
		if !ok || tr[ES] == "" || tr[EN] == "" {
			t.Errorf("reason %q (%s) has no Spanish and English text (reason.%s in i18n.go)", c, where, c)
		}
	}
}
