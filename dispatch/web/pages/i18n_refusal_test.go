package pages

import (
	"strings"
	"testing"
)

// TestIllegalTransitionNamesNeither: the text of code.illegal_transition serves refusals of
// visits and of reports alike (a page that knows which picks .visit or .report), so it
// names neither; it said "de la visita" of a report's refused status change.
func TestIllegalTransitionNamesNeither(t *testing.T) {
	for _, l := range []Lang{ES, EN} {
		got := strings.ToLower(T(l, "code.illegal_transition"))
		for _, w := range []string{"visit", "reporte", "report"} {
			if strings.Contains(got, w) {
				t.Errorf("code.illegal_transition (%s) = %q, names %q", l, got, w)
			}
		}
	}
	for k, want := range map[string][2]string{"code.illegal_transition.visit": {"visita", "visit"}, "code.illegal_transition.report": {"reporte", "report"}} {
		if es, en := T(ES, k), T(EN, k); !strings.Contains(es, want[0]) || !strings.Contains(en, want[1]) {
			t.Errorf("%s = %q / %q, want it to name the %s", k, es, en, want[1])
		}
	}
}
