package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

const publicBody = `{"customer":{"name":"Juan Pérez","phone":"33 1234 5678","email":"juan@example.mx"},"address":{"line":"Calle 5 #10, Guadalajara"},"kind":"fault","description":"Internet intermitente"}`

func TestPublicReportAndStatus(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	res, b := do(t, "POST", base+"/public/reports", "", publicBody)
	if res.StatusCode != 201 {
		t.Fatalf("public report = %d %s", res.StatusCode, b)
	}
	var created struct{ Folio, AccessCode string }
	_ = json.Unmarshal(b, &struct {
		Folio      *string `json:"folio"`
		AccessCode *string `json:"access_code"`
	}{&created.Folio, &created.AccessCode})
	if created.Folio == "" || len(created.AccessCode) < 10 {
		t.Fatalf("public report answer %s", b)
	}
	// Staff add an internal note; the customer must not see it.
	if code, b := transition(t, base, tok, created.Folio, `{"action":"note","note":"cliente moroso, secreto"}`); code != 200 {
		t.Fatalf("note = %d %s", code, b)
	}
	if code, b := transition(t, base, tok, created.Folio, `{"action":"resolve","cause":"Router dañado","verdict":"upheld","service_restored":true}`); code != 200 {
		t.Fatalf("resolve = %d %s", code, b)
	}
	// The code works typed in lower case with dashes.
	typed := strings.ToLower(created.AccessCode[:4] + "-" + created.AccessCode[4:])
	res, b = do(t, "GET", base+"/public/reports/"+created.Folio+"?code="+typed, "", "")
	if res.StatusCode != 200 {
		t.Fatalf("status = %d %s", res.StatusCode, b)
	}
	for _, secret := range []string{"secreto", "moroso", "33 1234", "+52", "juan@", "Juan", "user:"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("status page shows %q: %s", secret, b)
		}
	}
	var st struct {
		Status     string
		Resolution *struct{ Cause, Verdict string }
		Timeline   []struct{ Type, Status string }
	}
	_ = json.Unmarshal(b, &st)
	if st.Status != "resolved" || st.Resolution == nil || st.Resolution.Cause != "Router dañado" || len(st.Timeline) != 2 || st.Timeline[1].Status != "resolved" {
		t.Fatalf("status page = %s", b)
	}
	// The report is on the staff side with channel web and the customer's normalized phone.
	_, b = do(t, "GET", base+"/api/tickets/"+created.Folio, tok, "")
	if g := decodeTicket(t, b); g.Channel != "web" || g.Customer.Phone != "+523312345678" || g.Timeline[0].Actor != "customer" {
		t.Fatalf("staff view = %+v", g)
	}
	// A wrong code and an unknown folio look the same.
	res1, b1 := do(t, "GET", base+"/public/reports/"+created.Folio+"?code=AAAAAAAAAAAA", "", "")
	res2, b2 := do(t, "GET", base+"/public/reports/R-2026-999999?code="+created.AccessCode, "", "")
	if res1.StatusCode != 404 || res2.StatusCode != 404 || string(b1) != string(b2) {
		t.Fatalf("wrong code %d %s; unknown folio %d %s", res1.StatusCode, b1, res2.StatusCode, b2)
	}
}

func TestPublicReportBadInputAndLockout(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(web.New(web.Config{DB: dispatchtest.DB(t)}))
	t.Cleanup(ts.Close)
	for _, c := range []struct{ body, field string }{
		{strings.Replace(publicBody, `"kind":"fault"`, `"kind":"x"`, 1), "kind"},
		{strings.Replace(publicBody, `33 1234 5678`, `abc`, 1), "customer.phone"},
		{strings.Replace(publicBody, `Internet intermitente`, ``, 1), "description"},
	} {
		res, b := do(t, "POST", ts.URL+"/public/reports", "", c.body)
		if _, field := errorCode(t, b); res.StatusCode != 422 || field != c.field {
			t.Errorf("got %d %s, want 422 naming %s", res.StatusCode, b, c.field)
		}
	}
	res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody)
	if res.StatusCode != 201 {
		t.Fatalf("public report = %d %s", res.StatusCode, b)
	}
	var created struct {
		Folio      string `json:"folio"`
		AccessCode string `json:"access_code"`
	}
	_ = json.Unmarshal(b, &created)
	last := 0
	for range 11 {
		res, _ := do(t, "GET", ts.URL+"/public/reports/"+created.Folio+"?code=WRONGWRONG22", "", "")
		last = res.StatusCode
	}
	if last != 429 {
		t.Fatalf("after 11 wrong codes: %d, want 429", last)
	}
	// Locked out even with the right code.
	if res, _ := do(t, "GET", ts.URL+"/public/reports/"+created.Folio+"?code="+created.AccessCode, "", ""); res.StatusCode != 429 {
		t.Fatalf("right code while locked out = %d, want 429", res.StatusCode)
	}
	// The form itself is rate limited per address.
	last = 0
	for range 35 {
		res, _ := do(t, "POST", ts.URL+"/public/reports", "", `{}`)
		last = res.StatusCode
	}
	if last != 429 {
		t.Fatalf("after 35 submissions: %d, want 429", last)
	}
}

// TestPublicFormBoundsTextsPerNumber: each report the public form files texts its folio to
// the phone given, which the form cannot verify. Five reports for one number within an
// hour are filed; the sixth is refused with 429 naming customer.phone, writes nothing and
// texts nobody; another number is not held up, and an hour later the first may file again.
func TestPublicFormBoundsTextsPerNumber(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ts := httptest.NewServer(web.New(web.Config{DB: db, Now: clock}))
	t.Cleanup(ts.Close)
	post := func(phone string) (int, []byte) {
		body := strings.Replace(publicBody, "33 1234 5678", phone, 1)
		res, b := do(t, "POST", ts.URL+"/public/reports", "", body)
		return res.StatusCode, b
	}
	count := func() int {
		var n int
		if err := db.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+523312345678'`).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 5 {
		if code, b := post("33 1234 5678"); code != 201 {
			t.Fatalf("report %d for one number = %d %s, want 201", i+1, code, b)
		}
	}
	code, b := post("(33) 1234-5678") // the same number, written otherwise
	if c, field := errorCode(t, b); code != 429 || c != "phone_report_limit" || field != "customer.phone" {
		t.Fatalf("sixth report for one number = %d %s, want 429 phone_report_limit naming customer.phone", code, b)
	}
	if n := count(); n != 5 {
		t.Errorf("%d reports stored for the number, want 5", n)
	}
	if code, b := post("33 9999 0000"); code != 201 {
		t.Errorf("another number = %d %s, want 201", code, b)
	}
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	if code, b := post("33 1234 5678"); code != 201 {
		t.Errorf("an hour later = %d %s, want 201", code, b)
	}

	// Sent together, they cannot all pass before any is counted.
	codes := make(chan int, 12)
	for range 12 {
		go func() {
			res, err := http.Post(ts.URL+"/public/reports", "application/json", strings.NewReader(strings.Replace(publicBody, "33 1234 5678", "33 5555 0101", 1)))
			if err != nil {
				codes <- -1
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	got := map[int]int{}
	for range 12 {
		got[<-codes]++
	}
	if got[201] != 5 || got[429] != 7 {
		t.Errorf("12 reports for one number at once: %v, want 5 filed and 7 refused", got)
	}
}

const rawMail = "From: \"Laura Gómez\" <Laura@Example.MX>\r\n" +
	"To: soporte@isp.example\r\n" +
	"Subject: =?UTF-8?Q?Falla_de_internet?=\r\n" +
	"Message-ID: <abc-123@example.mx>\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hola, no tengo internet desde la mañana.\r\n"

func TestIntakeEmail(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db, MailGatewayToken: "gateway-secret-token"}))
	t.Cleanup(ts.Close)
	mail := func(token, ctype, body string) (int, []byte) {
		res, b := do(t, "POST", ts.URL+"/api/intake/email", token, body, "Content-Type", ctype)
		return res.StatusCode, b
	}
	code, b := mail("gateway-secret-token", "message/rfc822", rawMail)
	if code != 201 {
		t.Fatalf("intake = %d %s", code, b)
	}
	var first struct{ Folio string }
	_ = json.Unmarshal(b, &first)
	code, b = mail("gateway-secret-token", "message/rfc822", rawMail)
	var again struct{ Folio string }
	_ = json.Unmarshal(b, &again)
	if code != 200 || again.Folio != first.Folio || first.Folio == "" {
		t.Fatalf("same Message-ID again = %d %s; want 200 with %s", code, b, first.Folio)
	}
	if code, _ := mail("wrong-token", "message/rfc822", rawMail); code != 401 {
		t.Fatalf("wrong gateway token = %d, want 401", code)
	}
	if code, b := mail("gateway-secret-token", "application/json", `{}`); code != 400 {
		t.Fatalf("wrong content type = %d %s, want 400", code, b)
	}
	if code, b := mail("gateway-secret-token", "message/rfc822", "Subject: hola\r\n\r\nsin remitente\r\n"); code != 422 {
		t.Fatalf("no From = %d %s, want 422", code, b)
	}
	if code, b := mail("gateway-secret-token", "message/rfc822", "From: x@y.mx\r\nSubject: "+strings.Repeat("a", 1<<20)+"\r\n\r\n"); code != 413 {
		t.Fatalf("huge mail = %d %.200s, want 413", code, b)
	}
	// An agent may file mail too; staff see the report with channel email and the sender.
	ts2 := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(ts2.Close)
	users := postgres.NewUsers(db)
	createUser(t, users, "mesa@example.mx", dispatch.RoleAgent)
	tok := staffToken(t, ts2.URL, "mesa@example.mx")
	res, b := do(t, "POST", ts2.URL+"/api/intake/email", tok, strings.Replace(rawMail, "abc-123", "def-456", 1), "Content-Type", "message/rfc822")
	if res.StatusCode != 201 {
		t.Fatalf("agent intake = %d %s", res.StatusCode, b)
	}
	_, b = do(t, "GET", ts2.URL+"/api/tickets/"+first.Folio, tok, "")
	g := decodeTicket(t, b)
	if g.Channel != "email" || g.Kind != "fault" || g.Customer.Email != "laura@example.mx" || g.Customer.Name != "Laura Gómez" || g.Subject != "Falla de internet" {
		t.Fatalf("e-mail report = %+v", g)
	}
	// Both mails came from the same address: one customer.
	_, b = do(t, "GET", ts2.URL+"/api/tickets?q=laura", tok, "")
	var l struct {
		Items []struct{ Customer struct{ ID int64 } }
	}
	_ = json.Unmarshal(b, &l)
	if len(l.Items) != 2 || l.Items[0].Customer.ID != l.Items[1].Customer.ID {
		t.Fatalf("list = %s; want two reports of one customer", b)
	}
}

// TestPublicStatusVisit follows a report's visit on the customer's status answer: nothing
// before a visit exists, then the promised window with the technician's first name, the ETA
// while on the way, and no ETA once the technician is on site.
func TestPublicStatusVisit(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.perez@despacho.example.mx", dispatch.RoleTechnician)
	createTech(t, ts, d, "Juan Pérez López", 19.43, -99.13, `"fiber"`, fmt.Sprintf(`,"user_id":%d`, userID(t, users, "juan.perez@despacho.example.mx")))
	var rep struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/public/reports", "", `{"customer":{"name":"Rosa","phone":"55 4444 1234"},"address":{"line":"Calle 5"},"kind":"fault","description":"Sin internet"}`, 201, &rep)
	statusURL := ts.URL + "/public/reports/" + rep.Folio + "?code=" + rep.AccessCode
	type visitView struct {
		Status         string
		Window         *struct{ Start, End time.Time }
		ETA            *time.Time `json:"eta"`
		PlannedArrival *time.Time `json:"planned_arrival"`
		TechnicianName string     `json:"technician_name"`
	}
	status := func() (*visitView, string) {
		t.Helper()
		res, b := do(t, "GET", statusURL, "", "")
		if res.StatusCode != 200 {
			t.Fatalf("status = %d %s", res.StatusCode, b)
		}
		var st struct{ Visit *visitView }
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return st.Visit, string(b)
	}
	if v, b := status(); v != nil {
		t.Fatalf("visit before any visit exists: %s", b)
	}
	v := createVisit(t, ts, a, rep.Folio, `{"duration_min":60,"skills":["fiber"],"lat":19.41,"lon":-99.15}`)
	if got, b := status(); got == nil || got.Status != "unscheduled" || got.Window != nil || got.TechnicianName != "" {
		t.Fatalf("unscheduled visit: got %s, want status unscheduled without window or technician", b)
	}
	ss := slots(t, ts, a, v.ID)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[0]), 200, nil)
	got, b := status()
	if got == nil || got.Status != "booked" || got.Window == nil || !got.Window.Start.Equal(ss[0].Start) || !got.Window.End.Equal(ss[0].End) {
		t.Fatalf("booked visit: got %s, want window %v", b, ss[0])
	}
	if got.TechnicianName != "Juan" {
		t.Fatalf("technician_name = %q, want the first name only (Juan)", got.TechnicianName)
	}
	if strings.Contains(b, "Pérez") || strings.Contains(b, "lat") {
		t.Fatalf("status shows the technician's full name or a position: %s", b)
	}
	stepURL := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, v.ID)
	mustJSON(t, "POST", stepURL, juan, `{"status":"en_route"}`, 200, nil)
	if got, b := status(); got == nil || got.Status != "en_route" || (got.ETA == nil && got.PlannedArrival == nil) {
		t.Fatalf("en route: got %s, want status en_route with an eta or planned arrival", b)
	}
	mustJSON(t, "POST", stepURL, juan, `{"status":"on_site"}`, 200, nil)
	if got, b := status(); got == nil || got.Status != "on_site" || got.ETA != nil {
		t.Fatalf("on site: got %s, want status on_site without eta", b)
	}
	mustJSON(t, "POST", stepURL, juan, `{"status":"completed","cause":"Conector dañado","verdict":"upheld","service_restored":true}`, 200, nil)
	if got, b := status(); got == nil || got.Status != "completed" || !strings.Contains(b, `"cause":"Conector dañado"`) {
		t.Fatalf("completed: got %s, want visit completed and the outcome", b)
	}
}
