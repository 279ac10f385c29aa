package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

type slaDoc struct {
	Default *struct {
		FirstResponse *slaTarget `json:"first_response"`
		Resolution    *slaTarget `json:"resolution"`
	} `json:"default"`
	Rules []struct {
		Kind          string     `json:"kind"`
		Priority      string     `json:"priority"`
		FirstResponse *slaTarget `json:"first_response"`
		Resolution    *slaTarget `json:"resolution"`
	} `json:"rules"`
}

type slaTarget struct {
	Basis   string `json:"basis"`
	Minutes int    `json:"minutes"`
	Days    int    `json:"days"`
}

const newPolicies = `{"default":{"first_response":{"basis":"business_days","days":2},"resolution":null},
	"rules":[{"kind":"fault","first_response":{"basis":"wall_clock","minutes":15},"resolution":{"basis":"wall_clock","minutes":60}},
	{"priority":"urgent","first_response":{"basis":"business_time","minutes":30},"resolution":{"basis":"business_days","days":1}}]}`

// TestSLAPoliciesAPI: staff read the seeded defaults, only admins replace them, a bad value
// is 422 naming it and changes nothing; a replacement applies to new reports at once, on
// this instance and (within a second) on another, while filed reports keep their due
// times; it is recorded as an event of the admin.
func TestSLAPoliciesAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	one := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(one.Close)
	two := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(two.Close)
	users := postgres.NewUsers(db)
	createUser(t, users, "agente@example.mx", dispatch.RoleAgent)
	createUser(t, users, "admin@example.mx", dispatch.RoleAdmin)
	agent, admin := staffToken(t, one.URL, "agente@example.mx"), staffToken(t, one.URL, "admin@example.mx")

	res, b := do(t, "GET", one.URL+"/api/sla/policies", agent, "")
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"v1"` {
		t.Fatalf("GET = %d %s %s, want 200 and ETag v1", res.StatusCode, res.Header.Get("ETag"), b)
	}
	var d slaDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.Default == nil || d.Default.Resolution == nil || *d.Default.Resolution != (slaTarget{Basis: "business_days", Days: 5}) || len(d.Rules) != 10 {
		t.Fatalf("seeded policies = %s", b)
	}
	found := false
	for _, r := range d.Rules {
		if r.Kind == "fault" && r.Priority == "urgent" {
			found = r.FirstResponse != nil && *r.FirstResponse == (slaTarget{Basis: "wall_clock", Minutes: 30})
		}
	}
	if !found {
		t.Fatalf("no fault/urgent rule of 30 minutes wall clock: %s", b)
	}

	// Filed before the change, on both instances (the second now caches the old set).
	before := decodeTicket(t, post(t, one.URL+"/api/tickets", agent, faultBody, 201))
	post(t, two.URL+"/api/tickets", agent, faultBody, 201)

	if res, _ := do(t, "PUT", one.URL+"/api/sla/policies", agent, newPolicies); res.StatusCode != 403 {
		t.Fatalf("PUT as agent = %d, want 403", res.StatusCode)
	}
	for body, field := range map[string]string{
		`{"default":{"first_response":null,"resolution":null},"rules":[{"kind":"fault"},{"kind":"fault","priority":"now"}]}`: "rules[1].priority",
		`{"default":{"first_response":{"basis":"wall_clock","minutes":0},"resolution":null},"rules":[]}`:                     "default.first_response.minutes",
		`{"rules":[]}`: "default",
		`{"default":{"first_response":{"basis":"wall_clock","minutes":60},"resolution":{"basis":"wall_clock","minutes":30}},"rules":[]}`:                                                       "default.resolution",
		`{"default":{"first_response":null,"resolution":null},"rules":[{"kind":"fault","first_response":{"basis":"business_days","days":3},"resolution":{"basis":"business_days","days":2}}]}`: "rules[0].resolution",
	} {
		res, b := do(t, "PUT", one.URL+"/api/sla/policies", admin, body)
		if code, f := errorCode(t, b); res.StatusCode != 422 || f != field {
			t.Errorf("PUT %s = %d %s on %q, want 422 on %q", body, res.StatusCode, code, f, field)
		}
	}
	if res, _ := do(t, "PUT", one.URL+"/api/sla/policies", admin, `{"default":`); res.StatusCode != 400 {
		t.Errorf("malformed PUT = %d, want 400", res.StatusCode)
	}
	if res, _ := do(t, "GET", one.URL+"/api/sla/policies", agent, ""); res.Header.Get("ETag") != `"v1"` {
		t.Fatalf("refused PUTs changed the version: %s", res.Header.Get("ETag"))
	}

	res, b = do(t, "PUT", one.URL+"/api/sla/policies", admin, newPolicies)
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"v2"` {
		t.Fatalf("PUT = %d %s %s", res.StatusCode, res.Header.Get("ETag"), b)
	}
	after := decodeTicket(t, post(t, one.URL+"/api/tickets", agent, faultBody, 201))
	if got, want := parseTime(t, after.DueAt), parseTime(t, &after.CreatedAt).Add(time.Hour); !sameMicro(got, want) {
		t.Fatalf("due of a fault filed after the change = %v, want %v (60 minutes)", got, want)
	}
	_, b = do(t, "GET", one.URL+"/api/tickets/"+before.Folio, agent, "")
	if got := decodeTicket(t, b); *got.DueAt != *before.DueAt || got.SLA.Resolution.Target.Minutes != 24*60 {
		t.Fatalf("filed report changed: due %s (was %s), target %+v", *got.DueAt, *before.DueAt, got.SLA.Resolution.Target)
	}
	time.Sleep(postgres.PolicyRecheck + 100*time.Millisecond)
	other := decodeTicket(t, post(t, two.URL+"/api/tickets", agent, faultBody, 201))
	if got, want := parseTime(t, other.DueAt), parseTime(t, &other.CreatedAt).Add(time.Hour); !sameMicro(got, want) {
		t.Fatalf("due on the other instance = %v, want %v", got, want)
	}

	var ev struct {
		Actor string          `bun:"actor"`
		Data  json.RawMessage `bun:"data"`
	}
	if err := db.NewRaw(`SELECT actor, data FROM events WHERE type = 'sla.policies_replaced'`).Scan(ctx, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Actor[:5] != "user:" {
		t.Fatalf("event actor = %q, want the admin", ev.Actor)
	}
}

// TestReclassifyTicket: an agent makes an inquiry an urgent fault; the SLA block follows
// and the timeline records it; a bad priority is 422 naming it.
func TestReclassifyTicket(t *testing.T) {
	t.Parallel()
	base, token := deskServer(t)
	body := `{"channel":"phone","kind":"inquiry","customer":{"name":"Ana","phone":"55 1111 2222"},"description":"¿Qué planes hay?"}`
	tk := decodeTicket(t, post(t, base+"/api/tickets", token, body, 201))
	if tk.SLA.FirstResponse.State != "ok" || tk.SLA.FirstResponse.Target == nil || tk.SLA.FirstResponse.Target.Basis != "business_time" {
		t.Fatalf("sla block of a new inquiry = %+v", tk.SLA)
	}
	url := base + "/api/tickets/" + tk.Folio + "/transitions"
	res, b := do(t, "POST", url, token, `{"action":"reclassify","priority":"asap"}`)
	if code, f := errorCode(t, b); res.StatusCode != 422 || f != "priority" {
		t.Fatalf("bad priority = %d %s %s", res.StatusCode, code, f)
	}
	res, b = do(t, "POST", url, token, `{"action":"reclassify","kind":"fault","priority":"urgent"}`)
	if res.StatusCode != 200 {
		t.Fatalf("reclassify = %d %s", res.StatusCode, b)
	}
	got := decodeTicket(t, b)
	if got.Kind != "fault" || got.Priority != "urgent" || got.SLA.Resolution.Target == nil || *got.SLA.Resolution.Target != (slaTarget{Basis: "wall_clock", Minutes: 240}) {
		t.Fatalf("after reclassify: %s %s %+v", got.Kind, got.Priority, got.SLA.Resolution)
	}
	if want := parseTime(t, &got.CreatedAt).Add(4 * time.Hour); !sameMicro(parseTime(t, got.DueAt), want) {
		t.Fatalf("due = %s, want %v", *got.DueAt, want)
	}
	if got.SLA.FirstResponse.State != "met" || got.SLA.FirstResponse.RespondedAt == nil {
		t.Fatalf("first response after a staff change = %+v, want met", got.SLA.FirstResponse)
	}
	if last := got.Timeline[len(got.Timeline)-1]; last.Type != "report.reclassified" || last.Data["from_kind"] != "inquiry" {
		t.Fatalf("last event = %+v", last)
	}
	if res, _ := do(t, "POST", url, token, `{"action":"reclassify","kind":"fault"}`); res.StatusCode != 409 {
		t.Fatalf("no-op reclassify = %d, want 409", res.StatusCode)
	}
}

func parseTime(t *testing.T, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatal("time is null")
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// post sends body and fails unless the answer has status want; it returns the body.
func post(t *testing.T, url, token, body string, want int) []byte {
	t.Helper()
	res, b := do(t, "POST", url, token, body)
	if res.StatusCode != want {
		t.Fatalf("POST %s = %d %s, want %d", url, res.StatusCode, b, want)
	}
	return b
}

// sameMicro reports whether due is want rounded up to the microsecond PostgreSQL keeps.
func sameMicro(due, want time.Time) bool {
	d := due.Sub(want)
	return d >= 0 && d < time.Microsecond
}
