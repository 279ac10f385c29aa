package web_test

import (
	"fmt"
	"strings"
	"testing"

	"despacho/dispatch"
)

// TestVisitStatusIdempotencyKey: the tech page sends each queued step with its own
// Idempotency-Key and sends it again when the answer was lost. The repeat must be answered
// as the step taken (200, Idempotent-Replayed), not refused as out of order (409), and must
// never take the step a second time, even when the visit came back meanwhile to where the
// step leaves from (not completed, then booked again: without the key, the stale en_route
// was recorded twice and its customer texted an ETA again).
func TestVisitStatusIdempotencyKey(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	pedro := login(t, ts, users, "pedro@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "juan@despacho.example.mx", "Juan", 19.43, -99.13)
	createTechFor(t, ts, d, users, "pedro@despacho.example.mx", "Pedro", 29.43, -99.13)
	folio := createTicket(t, ts, a, 19.40, -99.16)
	v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
	ss := slots(t, ts, a, v.ID)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[0]), 200, nil)
	url := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, v.ID)
	step := func(token, body, key string) (int, string, string) {
		t.Helper()
		res, b := do(t, "POST", url, token, body, "Idempotency-Key", key)
		return res.StatusCode, res.Header.Get("Idempotent-Replayed"), string(b)
	}
	count := func(typ string) int {
		t.Helper()
		n := 0
		for _, e := range timeline(t, ts, a, folio) {
			if e == typ {
				n++
			}
		}
		return n
	}

	if st, rep, b := step(juan, `{"status":"en_route"}`, "k-en-route-0001"); st != 200 || rep != "" {
		t.Fatalf("first en_route = %d (replayed %q) %s, want 200 not replayed", st, rep, b)
	}
	// The answer was lost: the phone sends it again, spaced otherwise.
	if st, rep, b := step(juan, `{ "status": "en_route" }`, "k-en-route-0001"); st != 200 || rep != "true" || !strings.Contains(b, `"status":"en_route"`) {
		t.Fatalf("en_route again with its key = %d (replayed %q) %s, want 200 replayed with the visit en_route", st, rep, b)
	}
	// Another user's key is another key: Pedro gets his own answer (the visit is not his).
	if st, _, b := step(pedro, `{"status":"en_route"}`, "k-en-route-0001"); st != 404 {
		t.Errorf("another technician with the same key = %d %s, want 404 as if absent", st, b)
	}
	// The same key with another step is not a repeat.
	if st, _, b := step(juan, `{"status":"on_site"}`, "k-en-route-0001"); st != 422 || !strings.Contains(b, "idempotency_key_reused") {
		t.Errorf("the key with another step = %d %s, want 422 idempotency_key_reused", st, b)
	}
	// A refused step records nothing, its key neither: corrected, it goes with the same key.
	long := strings.Repeat("ñ", dispatch.MaxVisitNote+1)
	if st, _, b := step(juan, `{"status":"not_completed","reason":"no_access","note":"`+long+`"}`, "k-not-done-0002"); st != 422 || !strings.Contains(b, `"field":"note"`) {
		t.Fatalf("note beyond the limit = %d %s, want 422 on note", st, b)
	}
	if st, rep, b := step(juan, `{"status":"not_completed","reason":"no_access","note":"Portón cerrado"}`, "k-not-done-0002"); st != 200 || rep != "" {
		t.Fatalf("the step corrected with the same key = %d (replayed %q) %s, want 200 not replayed", st, rep, b)
	}
	// Booked again; then the lost en_route of the morning arrives once more.
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[len(ss)-1]), 200, nil)
	if st, rep, b := step(juan, `{"status":"en_route"}`, "k-en-route-0001"); st != 200 || rep != "true" {
		t.Fatalf("the morning's en_route once more = %d (replayed %q) %s, want 200 replayed", st, rep, b)
	}
	var got visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), a, "", 200, &got)
	if got.Status != "booked" {
		t.Errorf("visit after the replay = %s, want booked (the replay took no step)", got.Status)
	}
	if n := count("visit.en_route"); n != 1 {
		t.Errorf("visit.en_route %d times in the timeline, want once", n)
	}
	// Without a key, nothing changes: a repeat is refused as out of order.
	mustJSON(t, "POST", url, juan, `{"status":"en_route"}`, 200, nil)
	if res, b := do(t, "POST", url, juan, `{"status":"en_route"}`); res.StatusCode != 409 {
		t.Errorf("en_route again without a key = %d %s, want 409", res.StatusCode, b)
	}
}
