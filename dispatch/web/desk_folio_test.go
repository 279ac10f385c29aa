package web_test

import (
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
