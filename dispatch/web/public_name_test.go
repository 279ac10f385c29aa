package web_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPublicFormKeepsTheTypedName: the web form files a report under the customer its
// e-mail or phone names, and may not change his record; a stranger who typed a customer's
// e-mail with another name ("Impostor … quiero cancelar") was shown to staff as the
// account holder, the name he typed kept nowhere. It is kept on the report's first step
// (name_given) when it is not the one on file, and not when it is.
func TestPublicFormKeepsTheTypedName(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	if res, b := do(t, "POST", base+"/public/reports", "", publicBody); res.StatusCode != 201 {
		t.Fatalf("first report = %d %s", res.StatusCode, b)
	}
	given := func(body string) (string, bool) {
		t.Helper()
		res, b := do(t, "POST", base+"/public/reports", "", body)
		if res.StatusCode != 201 {
			t.Fatalf("report = %d %s", res.StatusCode, b)
		}
		var c struct{ Folio string }
		_ = json.Unmarshal(b, &c)
		_, b = do(t, "GET", base+"/api/tickets/"+c.Folio, tok, "")
		var tk struct {
			Customer struct{ Name string }
			Timeline []struct {
				Type string
				Data map[string]any
			}
		}
		if err := json.Unmarshal(b, &tk); err != nil || len(tk.Timeline) == 0 || tk.Timeline[0].Type != "report.created" {
			t.Fatalf("ticket %s: %s (%v)", c.Folio, b, err)
		}
		if tk.Customer.Name != "Juan Pérez" {
			t.Errorf("ticket %s filed under %q; want the customer on file, Juan Pérez", c.Folio, tk.Customer.Name)
		}
		name, ok := tk.Timeline[0].Data["name_given"].(string)
		return name, ok
	}
	impostor := strings.Replace(strings.Replace(publicBody, `"Juan Pérez"`, `"Impostor"`, 1), `"33 1234 5678"`, `"55 9999 0000"`, 1)
	impostor = strings.Replace(impostor, `"kind":"fault"`, `"kind":"cancellation"`, 1)
	if name, ok := given(impostor); !ok || name != "Impostor" {
		t.Errorf("name_given of a report by e-mail with another name = %q (%v); want Impostor", name, ok)
	}
	if name, ok := given(strings.Replace(publicBody, `"Juan Pérez"`, `"juan pérez "`, 1)); ok {
		t.Errorf("name_given of the customer's own name = %q; want none", name)
	}
}
