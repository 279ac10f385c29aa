package pages

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTimelineEventsTranslated: every event type that can land on a report's (or an
// incident's) timeline has a text in Spanish and English, so the desk and the board never
// show an agent "visit.en_route". The types are found where the code writes them: a Type
// field, visitEvent's argument, a typ variable, an Event… constant, and the visit statuses
// that the status endpoint writes as "visit."+status.
func TestTimelineEventsTranslated(t *testing.T) {
	writes := []*regexp.Regexp{
		regexp.MustCompile(`Type:\s*"([a-z]+\.[a-z_]+)"`),
		regexp.MustCompile(`visitEvent\([^,()]+,\s*"([a-z]+\.[a-z_]+)"`),
		regexp.MustCompile(`\btyp\s*:?=\s*"([a-z]+\.[a-z_]+)"`),
		regexp.MustCompile(`\bEvent[A-Za-z]+\s*=\s*"([a-z]+\.[a-z_]+)"`),
	}
	seen := map[string]string{}
	for _, s := range []string{"en_route", "on_site", "completed", "not_completed"} {
		seen["visit."+s] = "dispatch/postgres/visits.go (\"visit.\"+status)"
	}
	for _, root := range []string{"../../..", "../../../notify", "../../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, re := range writes {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					seen[m[1]] = path
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for typ, where := range seen {
		switch strings.SplitN(typ, ".", 2)[0] {
		case "report", "visit", "sms", "incident":
		default:
			continue // not on a report's or an incident's timeline
		}
		n++
		tr, ok := catalog["ev."+typ]
		if !ok || tr[ES] == "" || tr[EN] == "" {
			t.Errorf("event %q (%s) has no Spanish and English text (ev.%s in i18n.go)", typ, where, typ)
		}
	}
	if n < 30 {
		t.Fatalf("found only %d timeline event types: is the walk looking in the right place?", n)
	}
}
