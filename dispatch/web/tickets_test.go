package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// staffToken creates a user with role and signs in as them.
func staffToken(t *testing.T, ts, email string) string {
	t.Helper()
	res, b := do(t, "POST", ts+"/api/login", "", `{"email":"`+email+`","password":"contraseña-segura"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login %s = %d %s", email, res.StatusCode, b)
	}
	var lr struct{ Token string }
	if err := json.Unmarshal(b, &lr); err != nil {
		t.Fatal(err)
	}
	return lr.Token
}

type ticketJSON struct {
	ID         int64
	Folio      string
	Status     string
	Kind       string
	Channel    string
	Priority   string
	Area       string
	Subject    string
	Version    int
	DueAt      *string `json:"due_at"`
	SLAState   string  `json:"sla_state"`
	SLAPaused  bool    `json:"sla_paused"`
	AccessCode string  `json:"access_code"`
	CreatedAt  string  `json:"created_at"`
	SLA        struct {
		FirstResponse struct {
			Target      *slaTarget `json:"target"`
			DueAt       *string    `json:"due_at"`
			State       string     `json:"state"`
			RespondedAt *string    `json:"responded_at"`
		} `json:"first_response"`
		Resolution struct {
			Target *slaTarget `json:"target"`
			DueAt  *string    `json:"due_at"`
			State  string     `json:"state"`
			Paused bool       `json:"paused"`
		} `json:"resolution"`
	} `json:"sla"`
	Customer struct {
		ID          int64
		Name        string
		Phone       string
		Email       string
		AccessPoint string   `json:"access_point"`
		PlanPrice   *float64 `json:"plan_price"`
	}
	Address *struct {
		Line     string
		Lat, Lon *float64
	}
	Resolution *struct {
		Cause           string
		Verdict         string
		ServiceRestored *bool `json:"service_restored"`
	}
	IncidentID   *int64          `json:"incident_id"`
	Compensation json.RawMessage `json:"compensation"`
	Timeline     []struct {
		Type    string
		At      string
		Actor   string
		Channel string
		Data    map[string]any
	}
}

func decodeTicket(t *testing.T, b []byte) ticketJSON {
	t.Helper()
	var v ticketJSON
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("ticket JSON: %v: %s", err, b)
	}
	return v
}

const faultBody = `{"channel":"phone","kind":"fault","customer":{"name":"María López","phone":"044 55 1234 5678","email":"maria@example.mx","access_point":"AP-NORTE-3","plan_price":499},"address":{"line":"Av. Insurgentes Sur 100, CDMX","lat":19.4,"lon":-99.16},"subject":"Sin internet","description":"No tengo internet desde ayer."}`

// deskServer starts the API on a fresh database and signs an agent in.
func deskServer(t *testing.T) (base, token string) {
	t.Helper()
	ts, _, users := newServer(t)
	createUser(t, users, "agente@example.mx", dispatch.RoleAgent)
	return ts.URL, staffToken(t, ts.URL, "agente@example.mx")
}

func TestCreateAndGetTicket(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	res, b := do(t, "POST", base+"/api/tickets", tok, faultBody)
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s", res.StatusCode, b)
	}
	c := decodeTicket(t, b)
	if !strings.HasPrefix(c.Folio, "R-20") || c.Status != "open" || len(c.AccessCode) < 10 {
		t.Fatalf("created = %+v", c)
	}
	if c.Customer.Phone != "+525512345678" || c.Area != "technical" || c.DueAt == nil || c.SLAState != "ok" {
		t.Fatalf("created = %+v", c)
	}
	res, b = do(t, "GET", base+"/api/tickets/"+strings.ToLower(c.Folio), tok, "")
	if res.StatusCode != 200 {
		t.Fatalf("get = %d %s", res.StatusCode, b)
	}
	g := decodeTicket(t, b)
	if g.Folio != c.Folio || g.Kind != "fault" || g.Channel != "phone" || g.Customer.Phone != "+525512345678" || g.AccessCode != "" {
		t.Fatalf("get = %+v", g)
	}
	if g.IncidentID != nil || string(g.Compensation) != "null" {
		t.Fatalf("incident_id %v compensation %s, want null", g.IncidentID, g.Compensation)
	}
	if len(g.Timeline) != 1 || g.Timeline[0].Type != "report.created" || g.Timeline[0].Channel != "phone" || !strings.HasPrefix(g.Timeline[0].Actor, "user:") {
		t.Fatalf("timeline = %+v", g.Timeline)
	}
	if bytesContain(b, "access_code_hash") || bytesContain(b, c.AccessCode) {
		t.Fatal("access code or its hash leaked into GET")
	}
	// A second report by the same phone in another form finds the same customer.
	body2 := strings.Replace(faultBody, "044 55 1234 5678", "+52 1 55 1234 5678", 1)
	res, b = do(t, "POST", base+"/api/tickets", tok, body2)
	c2 := decodeTicket(t, b)
	if res.StatusCode != 201 || c2.Customer.ID != c.Customer.ID || c2.Folio <= c.Folio {
		t.Fatalf("second report = %d %+v; want customer %d and a later folio than %s", res.StatusCode, c2, c.Customer.ID, c.Folio)
	}
	res, _ = do(t, "GET", base+"/api/tickets/R-2026-999999", tok, "")
	if res.StatusCode != 404 {
		t.Fatalf("unknown folio = %d, want 404", res.StatusCode)
	}
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }

func TestCreateTicketIdempotency(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	var wg sync.WaitGroup
	folios := make([]string, 6)
	codes := make([]int, 6)
	for i := range folios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, b := do(t, "POST", base+"/api/tickets", tok, faultBody, "Idempotency-Key", "k-123")
			codes[i] = res.StatusCode
			var v struct{ Folio string }
			_ = json.Unmarshal(b, &v)
			folios[i] = v.Folio
		}()
	}
	wg.Wait()
	for i := range folios {
		if codes[i] != 201 || folios[i] != folios[0] || folios[0] == "" {
			t.Fatalf("retries gave %v %v; want 201 and one folio", codes, folios)
		}
	}
	res, b := do(t, "POST", base+"/api/tickets", tok, strings.Replace(faultBody, "ayer", "hoy", 1), "Idempotency-Key", "k-123")
	if code, field := errorCode(t, b); res.StatusCode != 422 || code != "idempotency_key_reused" || field != "Idempotency-Key" {
		t.Fatalf("reused key = %d %s", res.StatusCode, b)
	}
	res, b = do(t, "GET", base+"/api/tickets?limit=100", tok, "")
	var list struct{ Items []struct{ Folio string } }
	_ = json.Unmarshal(b, &list)
	if res.StatusCode != 200 || len(list.Items) != 1 {
		t.Fatalf("list after idempotent retries = %d %s; want one report", res.StatusCode, b)
	}
}

func TestCreateTicketBadInput(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	set := func(old, new string) string { return strings.Replace(faultBody, old, new, 1) }
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed", `{"channel":`, 400, ""},
		{"array", `[]`, 400, ""},
		{"too large", `{"description":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
		{"bad phone", set("044 55 1234 5678", "12345"), 422, "customer.phone"},
		{"unknown kind", set(`"kind":"fault"`, `"kind":"falla"`), 422, "kind"},
		{"unknown channel", set(`"channel":"phone"`, `"channel":"fax"`), 422, "channel"},
		{"empty description", set("No tengo internet desde ayer.", "   "), 422, "description"},
		{"lat out of range", set(`"lat":19.4`, `"lat":91`), 422, "address.lat"},
		{"lon without lat", set(`"lat":19.4,`, ``), 422, "address.lat"},
		{"negative price", set(`"plan_price":499`, `"plan_price":-1`), 422, "customer.plan_price"},
		{"price is text", set(`"plan_price":499`, `"plan_price":"499"`), 422, "customer.plan_price"},
		{"no name", set(`"name":"María López"`, `"name":""`), 422, "customer.name"},
		{"bad email", set(`maria@example.mx`, `maria@`), 422, "customer.email"},
		{"bad priority", set(`"kind":"fault"`, `"kind":"fault","priority":"asap"`), 422, "priority"},
	}
	for _, c := range cases {
		res, b := do(t, "POST", base+"/api/tickets", tok, c.body)
		code, field := errorCode(t, b)
		if res.StatusCode != c.status || field != c.field {
			t.Errorf("%s: got %d %s %q, want %d %q (%s)", c.name, res.StatusCode, code, field, c.status, c.field, b)
		}
	}
	res, b := do(t, "GET", base+"/api/tickets", tok, "")
	if res.StatusCode != 200 || !strings.Contains(string(b), `"items":[]`) {
		t.Fatalf("something was stored: %s", b)
	}
	// Who may file.
	ts2, _, users := newServer(t)
	createUser(t, users, "tec@example.mx", dispatch.RoleTechnician)
	tt := staffToken(t, ts2.URL, "tec@example.mx")
	if res, _ := do(t, "POST", ts2.URL+"/api/tickets", tt, faultBody); res.StatusCode != 403 {
		t.Fatalf("technician create = %d, want 403", res.StatusCode)
	}
	if res, _ := do(t, "POST", ts2.URL+"/api/tickets", "", faultBody); res.StatusCode != 401 {
		t.Fatalf("anonymous create = %d, want 401", res.StatusCode)
	}
}

func transition(t *testing.T, base, tok, folio, body string) (int, []byte) {
	t.Helper()
	res, b := do(t, "POST", base+"/api/tickets/"+folio+"/transitions", tok, body)
	return res.StatusCode, b
}

func TestTicketLifecycle(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	_, b := do(t, "POST", base+"/api/tickets", tok, faultBody)
	f := decodeTicket(t, b).Folio
	steps := []struct {
		body   string
		status int
		want   string // status after, or error code
	}{
		{`{"action":"close"}`, 409, "illegal_transition"},
		{`{"action":"start"}`, 200, "in_progress"},
		{`{"action":"wait_customer","reason":"no contesta"}`, 200, "waiting_customer"},
		{`{"action":"resume"}`, 200, "in_progress"},
		{`{"action":"note","note":"Se revisó la ONT"}`, 200, "in_progress"},
		{`{"action":"note"}`, 422, "invalid_note"},
		{`{"action":"assign_area","area":"billing"}`, 200, "in_progress"},
		{`{"action":"fly"}`, 422, "invalid_action"},
		{`{"action":"resolve","cause":"Fibra cortada","verdict":"upheld"}`, 422, "invalid_service_restored"},
		{`{"action":"resolve","cause":"Fibra cortada","verdict":"maybe","service_restored":true}`, 422, "invalid_verdict"},
		{`{"action":"resolve","cause":"Fibra cortada","verdict":"upheld","service_restored":true}`, 200, "resolved"},
		{`{"action":"start"}`, 409, "illegal_transition"},
		{`{"action":"close","version":2}`, 409, "stale_version"},
		{`{"action":"close"}`, 200, "closed"},
		{`{"action":"reopen","reason":"volvió a fallar"}`, 200, "open"},
		{`{"action":"cancel"}`, 200, "cancelled"},
		{`{"action":"reopen"}`, 409, "illegal_transition"},
		{`{"action":`, 400, "malformed"},
	}
	for i, s := range steps {
		code, b := transition(t, base, tok, f, s.body)
		if code != s.status {
			t.Fatalf("step %d %s = %d %s, want %d", i, s.body, code, b, s.status)
		}
		if code == 200 {
			if got := decodeTicket(t, b).Status; got != s.want {
				t.Fatalf("step %d %s: status %s, want %s", i, s.body, got, s.want)
			}
		} else if c, _ := errorCode(t, b); c != s.want {
			t.Fatalf("step %d %s: code %s, want %s", i, s.body, c, s.want)
		}
	}
	_, b = do(t, "GET", base+"/api/tickets/"+f, tok, "")
	g := decodeTicket(t, b)
	var types []string
	for _, ev := range g.Timeline {
		types = append(types, ev.Type)
	}
	want := "report.created report.status_changed report.status_changed report.status_changed report.noted report.area_assigned report.resolved report.closed report.reopened report.cancelled"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("timeline\n got %s\nwant %s", got, want)
	}
	if g.Resolution == nil || g.Resolution.Cause != "Fibra cortada" || g.Area != "billing" || g.Version != 10 {
		t.Fatalf("after lifecycle: %+v", g)
	}
	if code, _ := transition(t, base, tok, "R-2026-999999", `{"action":"start"}`); code != 404 {
		t.Fatalf("transition on unknown folio = %d", code)
	}
}

func TestWaitingCustomerPausesSLA(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	_, b := do(t, "POST", base+"/api/tickets", tok, faultBody)
	f := decodeTicket(t, b).Folio
	code, b := transition(t, base, tok, f, `{"action":"wait_customer"}`)
	v := decodeTicket(t, b)
	if code != 200 || v.DueAt != nil || !v.SLAPaused {
		t.Fatalf("waiting: %d due_at %v paused %v", code, v.DueAt, v.SLAPaused)
	}
	code, b = transition(t, base, tok, f, `{"action":"resume"}`)
	v = decodeTicket(t, b)
	if code != 200 || v.DueAt == nil || v.SLAPaused {
		t.Fatalf("resumed: %d due_at %v paused %v", code, v.DueAt, v.SLAPaused)
	}
}

func TestListTickets(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	kinds := []string{"fault", "complaint", "inquiry", "clarification", "suggestion"}
	for i := range 7 {
		body := fmt.Sprintf(`{"channel":"phone","kind":%q,"customer":{"name":"Cliente %d","phone":"55 1234 56%02d"},"description":"Reporte número %d"}`, kinds[i%len(kinds)], i, i, i)
		if res, b := do(t, "POST", base+"/api/tickets", tok, body); res.StatusCode != 201 {
			t.Fatalf("create %d = %d %s", i, res.StatusCode, b)
		}
	}
	var seen []string
	next := ""
	for page := 0; ; page++ {
		res, b := do(t, "GET", base+"/api/tickets?limit=3&after="+next, tok, "")
		var l struct {
			Items []struct{ Folio string }
			Next  string
		}
		if err := json.Unmarshal(b, &l); err != nil || res.StatusCode != 200 {
			t.Fatalf("page %d = %d %s", page, res.StatusCode, b)
		}
		for _, it := range l.Items {
			seen = append(seen, it.Folio)
		}
		if l.Next == "" {
			break
		}
		next = l.Next
	}
	if len(seen) != 7 || seen[0] <= seen[6] {
		t.Fatalf("pages gave %v; want 7 folios newest first", seen)
	}
	for _, q := range []struct {
		query string
		n     int
	}{
		{"kind=fault", 2}, {"area=complaints", 2}, {"status=open", 7}, {"status=closed,cancelled", 0},
		{"q=cliente%203", 1}, {"q=" + seen[0], 1}, {"q=N%C3%9AMERO", 7}, {"q=50%25", 0},
		{"due_before=2000-01-01T00:00:00Z", 0},
	} {
		res, b := do(t, "GET", base+"/api/tickets?"+q.query, tok, "")
		var l struct{ Items []json.RawMessage }
		_ = json.Unmarshal(b, &l)
		if res.StatusCode != 200 || len(l.Items) != q.n {
			t.Errorf("%s: %d, %d items; want %d (%s)", q.query, res.StatusCode, len(l.Items), q.n, b)
		}
	}
	for _, q := range []struct{ query, field string }{
		{"status=lost", "status"}, {"kind=x", "kind"}, {"limit=101", "limit"}, {"limit=x", "limit"},
		{"after=nonsense", "after"}, {"q=a%00b", "q"}, {"due_before=tomorrow", "due_before"}, {"area=sales", "area"},
	} {
		res, b := do(t, "GET", base+"/api/tickets?"+q.query, tok, "")
		if _, field := errorCode(t, b); res.StatusCode != 422 || field != q.field {
			t.Errorf("%s: %d %s; want 422 naming %s", q.query, res.StatusCode, b, q.field)
		}
	}
}

// BenchmarkCreateTicketHTTP files reports through the real server and PostgreSQL with 32
// concurrent clients (whatever GOMAXPROCS is) and reports latency percentiles. Run:
//
//	go test -run '^$' -bench CreateTicketHTTP -benchtime 3000x ./dispatch/web/
func BenchmarkCreateTicketHTTP(b *testing.B) {
	db := dispatchtest.DB(b)
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	b.Cleanup(ts.Close)
	u, err := dispatch.NewUser("bench@example.mx", "Bench", dispatch.RoleAgent, "contraseña-segura")
	if err != nil {
		b.Fatal(err)
	}
	if err := postgres.NewUsers(db).Create(context.Background(), u); err != nil {
		b.Fatal(err)
	}
	res, err := http.Post(ts.URL+"/api/login", "application/json", strings.NewReader(`{"email":"bench@example.mx","password":"contraseña-segura"}`))
	if err != nil {
		b.Fatal(err)
	}
	var lr struct{ Token string }
	_ = json.NewDecoder(res.Body).Decode(&lr)
	res.Body.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := seq.Add(1)
			body := fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente %d","phone":"55 %04d %04d"},"address":{"line":"Calle %d","lat":19.4,"lon":-99.1},"description":"Sin servicio"}`, n, 1000+n/10000, n%10000, n)
			req, _ := http.NewRequest("POST", ts.URL+"/api/tickets", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+lr.Token)
			req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", n))
			start := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 201 {
				b.Errorf("create = %d", res.StatusCode)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// TestCreateTicketNever500 sends hostile values to every text field: each is refused with a
// 4xx or stored, never an internal error.
func TestCreateTicketNever500(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	nasty := []string{`\u0000`, `a\u0000b`, `\ud800`, `\u202e`, `🙂`, `' OR 1=1 --`, `\\`, `%_`, strings.Repeat("ñ", 400)}
	fields := []struct{ old, tmpl string }{
		{`"subject":"Sin internet"`, `"subject":"%s"`},
		{`"description":"No tengo internet desde ayer."`, `"description":"%s"`},
		{`"name":"María López"`, `"name":"%s"`},
		{`"access_point":"AP-NORTE-3"`, `"access_point":"%s"`},
		{`"line":"Av. Insurgentes Sur 100, CDMX"`, `"line":"%s"`},
		{`"email":"maria@example.mx"`, `"email":"%s"`},
		{`"phone":"044 55 1234 5678"`, `"phone":"%s"`},
	}
	for _, f := range fields {
		for _, v := range nasty {
			body := strings.Replace(faultBody, f.old, fmt.Sprintf(f.tmpl, v), 1)
			res, b := do(t, "POST", base+"/api/tickets", tok, body)
			if res.StatusCode != 201 && (res.StatusCode < 400 || res.StatusCode >= 500) {
				t.Errorf("%s = %q: %d %s", f.old, v, res.StatusCode, b)
			}
		}
	}
	for _, q := range []string{"%00", "%27", "%5C", "%25", "%F0%9F%99%82", "%ED%A0%80"} {
		if res, b := do(t, "GET", base+"/api/tickets?q="+q, tok, ""); res.StatusCode >= 500 {
			t.Errorf("q=%s: %d %s", q, res.StatusCode, b)
		}
	}
	for _, f := range []string{"R-2026-000001%00", "%27", "R-2026-0000001"} {
		if res, b := do(t, "GET", base+"/api/tickets/"+f, tok, ""); res.StatusCode != 404 {
			t.Errorf("GET %s: %d %s", f, res.StatusCode, b)
		}
	}
}

// TestIntakeEmailThreading: replies (In-Reply-To / References naming a message already
// filed, or the folio in the subject from the report's customer) are added to the report's
// timeline instead of opening a new folio, once per Message-ID, without the quoted original
// and without changing the report.
func TestIntakeEmailThreading(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db, MailGatewayToken: "gateway-secret-token"}))
	t.Cleanup(ts.Close)
	mail := func(headers, body string) (int, string, bool) {
		t.Helper()
		raw := "From: \"Laura Gómez\" <laura@example.mx>\r\nTo: soporte@isp.example\r\n" + headers +
			"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
		res, b := do(t, "POST", ts.URL+"/api/intake/email", "gateway-secret-token", raw, "Content-Type", "message/rfc822")
		var a struct {
			Folio    string
			Threaded bool
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
		return res.StatusCode, a.Folio, a.Threaded
	}
	code, folio, _ := mail("Subject: Falla de internet\r\nMessage-ID: <first@example.mx>\r\n", "No tengo internet.")
	if code != 201 || folio == "" {
		t.Fatalf("first mail = %d %q", code, folio)
	}
	reply := "Subject: Re: Falla de internet\r\nMessage-ID: <reply-1@example.mx>\r\nIn-Reply-To: <first@example.mx>\r\n"
	quoted := "Sigue sin funcionar.\r\n\r\nEl mié, 25 nov 2026 a las 10:00, Soporte <soporte@isp.example> escribió:\r\n> No tengo internet."
	for range 2 { // the same Message-ID twice is one message
		if code, f, threaded := mail(reply, quoted); code != 200 || f != folio || !threaded {
			t.Fatalf("reply = %d %s threaded %v; want 200 %s threaded", code, f, threaded, folio)
		}
	}
	// A reply to the reply, naming only it.
	if code, f, _ := mail("Subject: Re: Re: Falla\r\nMessage-ID: <reply-2@example.mx>\r\nReferences: <nowhere@x.mx> <reply-1@example.mx>\r\n", "¿Alguna novedad?"); code != 200 || f != folio {
		t.Fatalf("reply to the reply = %d %s", code, f)
	}
	// The folio in the subject, from the report's customer.
	if code, f, _ := mail("Subject: Mi reporte "+strings.ToLower(folio)+"\r\nMessage-ID: <by-folio@example.mx>\r\n", "Ya volvió el servicio."); code != 200 || f != folio {
		t.Fatalf("by folio = %d %s", code, f)
	}
	// Unknown references open a new report.
	if code, f, threaded := mail("Subject: Re: otra cosa\r\nMessage-ID: <other@example.mx>\r\nIn-Reply-To: <unknown@example.mx>\r\n", "Quiero cambiar de plan."); code != 201 || f == folio || threaded {
		t.Fatalf("unknown reply = %d %s threaded %v; want a new folio", code, f, threaded)
	}
	// The folio in the subject from somebody else is not enough.
	stranger := "From: otro@example.mx\r\nSubject: Re: " + folio + "\r\nMessage-ID: <stranger@example.mx>\r\nContent-Type: text/plain\r\n\r\nHola\r\n"
	if res, b := do(t, "POST", ts.URL+"/api/intake/email", "gateway-secret-token", stranger, "Content-Type", "message/rfc822"); res.StatusCode != 201 || strings.Contains(string(b), folio) {
		t.Fatalf("stranger naming the folio = %d %s; want a new report", res.StatusCode, b)
	}

	users := postgres.NewUsers(db)
	createUser(t, users, "mesa@example.mx", dispatch.RoleAgent)
	tok := staffToken(t, ts.URL, "mesa@example.mx")
	_, b := do(t, "GET", ts.URL+"/api/tickets/"+folio, tok, "")
	g := decodeTicket(t, b)
	var texts []string
	for _, ev := range g.Timeline {
		if ev.Type == "report.customer_message" {
			texts = append(texts, ev.Data["text"].(string))
		}
	}
	if want := []string{"Sigue sin funcionar.", "¿Alguna novedad?", "Ya volvió el servicio."}; !slices.Equal(texts, want) {
		t.Fatalf("customer messages = %q, want %q", texts, want)
	}
	if g.Status != "open" || g.Version != 1 || g.SLA.FirstResponse.RespondedAt != nil {
		t.Fatalf("the report changed: status %s version %d responded %v", g.Status, g.Version, g.SLA.FirstResponse.RespondedAt)
	}
}
