package web_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestTicketFolioAsTyped: an agent types the folio the customer reads out over the phone or
// pastes it from an e-mail: spaced, run together, lower case, with a typographic dash or a
// no-break space. Each finds the report; anything else is still not found.
func TestTicketFolioAsTyped(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	res, b := do(t, "POST", base+"/api/tickets", tok, faultBody)
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s", res.StatusCode, b)
	}
	folio := decodeTicket(t, b).Folio // R-YYYY-NNNNNN
	year, n := folio[2:6], folio[7:]
	for _, typed := range []string{
		"r " + year + " " + n,
		"R" + year + n,
		"R-" + year + " " + n,
		" R - " + year + " - " + n + " ",
		"R–" + year + "–" + n, // en dash, as a word processor writes it
		"R\u00a0" + year + "\u00a0" + n,
	} {
		res, b := do(t, "GET", base+"/api/tickets/"+url.PathEscape(typed), tok, "")
		if res.StatusCode != 200 || decodeTicket(t, b).Folio != folio {
			t.Errorf("GET %q = %d %s, want 200 with %s", typed, res.StatusCode, b, folio)
		}
	}
	for _, other := range []string{"R-" + year + "-" + n + "1", year + "-" + n, "R-" + year + "-" + n + "; DROP", "X" + year + n, strings.Repeat("R", 5)} {
		if res, b := do(t, "GET", base+"/api/tickets/"+url.PathEscape(other), tok, ""); res.StatusCode != 404 {
			t.Errorf("GET %q = %d %s, want 404", other, res.StatusCode, b)
		}
	}
}

// TestTicketTimelineSaysWho: each step of a folio's timeline names the staff user who took
// it (actor_name), not only "user:12", so the desk can say who did what; steps of the
// customer or the system carry no name.
func TestTicketTimelineSaysWho(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	res, b := do(t, "POST", base+"/api/tickets", tok, faultBody)
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s", res.StatusCode, b)
	}
	folio := decodeTicket(t, b).Folio
	code, b := transition(t, base, tok, folio, `{"action":"note","note":"Llamó de nuevo","channel":"phone"}`)
	if code != 200 {
		t.Fatalf("note = %d %s", code, b)
	}
	var v struct {
		Timeline []struct {
			Type, Actor string
			ActorName   string `json:"actor_name"`
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Timeline) != 2 {
		t.Fatalf("timeline = %+v, want created and noted", v.Timeline)
	}
	for _, e := range v.Timeline {
		if !strings.HasPrefix(e.Actor, "user:") || e.ActorName != "Test agent" {
			t.Errorf("%s by %q named %q, want Test agent", e.Type, e.Actor, e.ActorName)
		}
	}
}
