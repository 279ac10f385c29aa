package pages

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConflictCodesTranslated: every conflict code the stores and handlers can answer has a
// text in Spanish and English, so a page never shows the API's English reason to a Spanish
// reader (core.js reason). A new code without one fails here.
func TestConflictCodesTranslated(t *testing.T) {
	code := regexp.MustCompile(`dispatch\.Conflict\("([a-z_]+)"`)
	seen := sourceMatches(t, code)
	if len(seen) < 10 {
		t.Fatalf("found only %d conflict codes: is the walk looking in the right place?", len(seen))
	}
	for c, where := range seen {
		tr, ok := catalog["code."+c]
		if !ok || tr[ES] == "" || tr[EN] == "" {
			t.Errorf("conflict code %q (%s) has no Spanish and English text (code.%s in i18n.go)", c, where, c)
		}
	}
}

// sourceMatches returns, for each first submatch of re in the non-test Go sources of
// dispatch/ and notify/, a file it was found in.
func sourceMatches(t *testing.T, re *regexp.Regexp) map[string]string {
	t.Helper()
	seen := map[string]string{}
	for _, root := range []string{"../..", "../../../notify"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				seen[m[1]] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return seen
}
