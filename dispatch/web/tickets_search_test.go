package web_test

import (
	"encoding/json"
	"net/url"
	"testing"
)

// TestTicketSearchByPhone: the list's q finds a customer's reports by the phone the agent
// reads off his own phone, in any common form; it matched only the folio, subject,
// description and name, so a caller's number found nothing. Another customer's reports
// are not listed, a number nobody has finds none, and text still searches text.
func TestTicketSearchByPhone(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	file := func(phone, name string) string {
		t.Helper()
		res, b := do(t, "POST", base+"/api/tickets", tok, `{"channel":"phone","kind":"fault","customer":{"name":"`+name+`","phone":"`+phone+`"},"description":"Sin internet"}`)
		if res.StatusCode != 201 {
			t.Fatalf("create = %d %s", res.StatusCode, b)
		}
		return decodeTicket(t, b).Folio
	}
	first := file("044 55 1234 5678", "María López")
	other := file("55 9876 5432", "Pedro Gómez")
	second := file("5512345678", "María López")
	list := func(q string) []string {
		t.Helper()
		res, b := do(t, "GET", base+"/api/tickets?q="+url.QueryEscape(q), tok, "")
		var l struct {
			Items []struct {
				Folio    string
				Customer struct{ Phone string }
			}
		}
		if err := json.Unmarshal(b, &l); err != nil || res.StatusCode != 200 {
			t.Fatalf("q=%q: %d %s", q, res.StatusCode, b)
		}
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Folio)
		}
		return out
	}
	for _, q := range []string{"55 1234 5678", "5512345678", "+52 55 1234 5678", "+525512345678", "(55) 1234-5678", "55.1234.5678", "+52 1 55 1234 5678", "044 55 1234 5678"} {
		if got := list(q); len(got) != 2 || got[0] != second || got[1] != first {
			t.Errorf("q=%q lists %v, want [%s %s]", q, got, second, first)
		}
	}
	if got := list("55 9876 5432"); len(got) != 1 || got[0] != other {
		t.Errorf("q=55 9876 5432 lists %v, want [%s]", got, other)
	}
	for _, q := range []string{"55 0000 1111", "1234 5678"} {
		if got := list(q); len(got) != 0 {
			t.Errorf("q=%q lists %v, want none", q, got)
		}
	}
	if got := list("pedro"); len(got) != 1 || got[0] != other {
		t.Errorf("q=pedro lists %v, want [%s]", got, other)
	}
}
