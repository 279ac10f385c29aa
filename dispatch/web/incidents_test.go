package web_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
)

type incidentJSON struct {
	ID                int64
	Folio             string
	AccessPoint       string `json:"access_point"`
	Status            string
	Attached          int    `json:"attached_reports"`
	TextAccessPoint   *bool  `json:"text_access_point"`
	CompensationTotal string `json:"compensation_total"`
	Currency          string
	Reports           []struct {
		Folio        string
		Status       string
		CustomerID   int64 `json:"customer_id"`
		Compensation *struct {
			Amount   string
			Currency string
		}
	}
}

func decodeIncident(t *testing.T, b []byte) incidentJSON {
	t.Helper()
	var v incidentJSON
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("incident JSON: %v: %s", err, b)
	}
	return v
}

func wantError(t *testing.T, status int, b []byte, wantStatus int, wantField string) {
	t.Helper()
	code, field := errorCode(t, b)
	if status != wantStatus || field != wantField {
		t.Fatalf("got %d %s field %q, want %d field %q (%s)", status, code, field, wantStatus, wantField, b)
	}
}

func TestIncidentsAPI(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "admin@example.mx", dispatch.RoleAdmin)
	createUser(t, users, "despacho@example.mx", dispatch.RoleDispatcher)
	createUser(t, users, "agente@example.mx", dispatch.RoleAgent)
	admin := staffToken(t, ts.URL, "admin@example.mx")
	disp := staffToken(t, ts.URL, "despacho@example.mx")
	agent := staffToken(t, ts.URL, "agente@example.mx")

	ticket := func(phone, ap, price string) ticketJSON {
		t.Helper()
		pp := ""
		if price != "" {
			pp = `,"plan_price":` + price
		}
		body := fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":%q,"access_point":%q%s},"description":"Sin internet"}`, phone, ap, pp)
		res, b := do(t, "POST", ts.URL+"/api/tickets", agent, body)
		if res.StatusCode != 201 {
			t.Fatalf("create ticket = %d %s", res.StatusCode, b)
		}
		return decodeTicket(t, b)
	}
	a := ticket("5511110001", "AP-CENTRO", "300")
	b := ticket("5511110002", "AP-CENTRO", "")
	other := ticket("5511110003", "AP-SUR", "300")

	now := time.Now().UTC()
	start := now.Add(-3 * time.Hour).Format(time.RFC3339)
	// Only dispatchers and admins open incidents; bad input names its field.
	res, body := do(t, "POST", ts.URL+"/api/incidents", agent, `{"access_point":"AP-CENTRO","title":"Caída"}`)
	wantError(t, res.StatusCode, body, 403, "")
	res, body = do(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-CENTRO","title":"Caída","started_at":"ayer"}`)
	wantError(t, res.StatusCode, body, 422, "started_at")
	res, body = do(t, "POST", ts.URL+"/api/incidents", disp, `{"title":"Caída"}`)
	wantError(t, res.StatusCode, body, 422, "access_point")

	res, body = do(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-CENTRO","title":"Caída de la torre","started_at":"`+start+`"}`)
	if res.StatusCode != 201 {
		t.Fatalf("open = %d %s", res.StatusCode, body)
	}
	inc := decodeIncident(t, body)
	if inc.ID == 0 || !strings.HasPrefix(inc.Folio, "I-") || inc.Attached != 2 || inc.Status != "open" || inc.TextAccessPoint == nil || *inc.TextAccessPoint {
		t.Fatalf("opened = %+v; want text_access_point false (the default)", inc)
	}
	// Texting the whole access point is the dispatcher's choice per incident.
	res, body = do(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-NORTE","title":"Caída","text_access_point":"si"}`)
	if res.StatusCode != 400 && res.StatusCode != 422 {
		t.Fatalf("text_access_point \"si\" = %d %s; want 400 or 422", res.StatusCode, body)
	}
	res, body = do(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-NORTE","title":"Caída","text_access_point":true}`)
	if north := decodeIncident(t, body); res.StatusCode != 201 || north.TextAccessPoint == nil || !*north.TextAccessPoint {
		t.Fatalf("open with text_access_point = %d %s; want 201 with it true", res.StatusCode, body)
	}
	res, body = do(t, "POST", ts.URL+"/api/incidents", admin, `{"access_point":"AP-CENTRO","title":"Otra"}`)
	wantError(t, res.StatusCode, body, 409, "")

	res, body = do(t, "GET", ts.URL+"/api/tickets/"+a.Folio, agent, "")
	if tk := decodeTicket(t, body); res.StatusCode != 200 || tk.IncidentID == nil || *tk.IncidentID != inc.ID {
		t.Fatalf("ticket = %d %s, want incident_id %d", res.StatusCode, body, inc.ID)
	}
	u := fmt.Sprintf("%s/api/incidents/%d", ts.URL, inc.ID)

	// A report of another access point does not attach.
	res, body = do(t, "POST", u+"/reports", disp, `{"folio":"`+other.Folio+`"}`)
	wantError(t, res.StatusCode, body, 422, "folio")

	res, body = do(t, "POST", u+"/estimate", disp, `{"estimated_restore_at":"`+now.Add(-4*time.Hour).Format(time.RFC3339)+`"}`)
	wantError(t, res.StatusCode, body, 422, "estimated_restore_at")
	res, body = do(t, "POST", u+"/estimate", disp, `{"estimated_restore_at":"`+now.Add(2*time.Hour).Format(time.RFC3339)+`"}`)
	if res.StatusCode != 200 {
		t.Fatalf("estimate = %d %s", res.StatusCode, body)
	}

	// Resolving: bad times, then a customer without a plan price, change nothing.
	restored := now.Add(-time.Hour).Format(time.RFC3339)
	res, body = do(t, "POST", u+"/resolve", disp, `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"`+now.Add(-4*time.Hour).Format(time.RFC3339)+`"}`)
	wantError(t, res.StatusCode, body, 422, "restored_at")
	res, body = do(t, "POST", u+"/resolve", disp, `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"pronto"}`)
	wantError(t, res.StatusCode, body, 422, "restored_at")
	res, body = do(t, "POST", u+"/resolve", disp, `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"`+restored+`"}`)
	wantError(t, res.StatusCode, body, 422, "plan_price")
	if !strings.Contains(string(body), b.Folio) {
		t.Fatalf("error does not name %s: %s", b.Folio, body)
	}
	res, body = do(t, "GET", u+"/compensation.csv", disp, "")
	wantError(t, res.StatusCode, body, 409, "")

	// Set the missing price: negative is refused, then 250.00.
	cu := fmt.Sprintf("%s/api/customers/%d/access-point", ts.URL, b.Customer.ID)
	res, body = do(t, "PUT", cu, disp, `{"access_point":"AP-CENTRO","plan_price":-5}`)
	wantError(t, res.StatusCode, body, 422, "plan_price")
	res, body = do(t, "PUT", cu, disp, `{"access_point":"AP-CENTRO","plan_price":"250.00"}`)
	if res.StatusCode != 200 {
		t.Fatalf("set price = %d %s", res.StatusCode, body)
	}

	res, body = do(t, "POST", u+"/resolve", disp, `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"`+restored+`"}`)
	if res.StatusCode != 200 {
		t.Fatalf("resolve = %d %s", res.StatusCode, body)
	}
	inc = decodeIncident(t, body)
	if inc.Status != "resolved" || inc.Currency != "MXN" || inc.CompensationTotal == "0.00" || len(inc.Reports) != 2 {
		t.Fatalf("resolved = %s", body)
	}
	for _, r := range inc.Reports {
		if r.Status != "resolved" || r.Compensation == nil || r.Compensation.Currency != "MXN" || r.Compensation.Amount == "0.00" {
			t.Fatalf("report %s = %+v", r.Folio, r)
		}
	}
	res, body = do(t, "POST", u+"/resolve", disp, `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"`+restored+`"}`)
	wantError(t, res.StatusCode, body, 409, "")

	// The report itself shows what its customer is owed.
	res, body = do(t, "GET", ts.URL+"/api/tickets/"+a.Folio, agent, "")
	var tk struct {
		Status       string `json:"status"`
		Compensation *struct {
			Amount   string `json:"amount"`
			Currency string `json:"currency"`
		} `json:"compensation"`
	}
	if err := json.Unmarshal(body, &tk); err != nil || res.StatusCode != 200 || tk.Status != "resolved" ||
		tk.Compensation == nil || tk.Compensation.Currency != "MXN" || tk.Compensation.Amount == "0.00" {
		t.Fatalf("ticket after resolve = %d %s", res.StatusCode, body)
	}

	res, body = do(t, "GET", ts.URL+"/api/incidents/"+strings.ToLower(inc.Folio), agent, "")
	if res.StatusCode != 200 || decodeIncident(t, body).ID != inc.ID {
		t.Fatalf("by folio = %d %s", res.StatusCode, body)
	}
	res, body = do(t, "GET", u+"/compensation.csv", disp, "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(lines) != 3 || lines[1][1] != a.Folio || lines[1][13] != "MXN" {
		t.Fatalf("csv = %q (%v)", lines, err)
	}
	res, body = do(t, "GET", ts.URL+"/api/incidents?status=resolved", agent, "")
	if res.StatusCode != 200 || !strings.Contains(string(body), inc.Folio) {
		t.Fatalf("list = %d %s", res.StatusCode, body)
	}
	res, body = do(t, "GET", ts.URL+"/api/incidents?status=closed", agent, "")
	wantError(t, res.StatusCode, body, 422, "status")
	res, body = do(t, "GET", ts.URL+"/api/incidents/I-2026-999999", agent, "")
	wantError(t, res.StatusCode, body, 404, "")
}

func TestAccessPointImportAPI(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "admin@example.mx", dispatch.RoleAdmin)
	createUser(t, users, "despacho@example.mx", dispatch.RoleDispatcher)
	admin := staffToken(t, ts.URL, "admin@example.mx")
	disp := staffToken(t, ts.URL, "despacho@example.mx")
	res, body := do(t, "POST", ts.URL+"/api/tickets", admin, `{"channel":"phone","kind":"fault","customer":{"name":"Ana","phone":"5522220001"},"description":"Sin internet"}`)
	if res.StatusCode != 201 {
		t.Fatalf("ticket = %d %s", res.StatusCode, body)
	}

	csvBody := "phone,access_point,plan_price\n55 2222 0001,AP-NORTE,349.00\n5599990000,AP-NORTE,\n55 2222 0001,AP-NORTE,-1\n"
	res, body = do(t, "POST", ts.URL+"/api/access-points/import", disp, csvBody, "Content-Type", "text/csv")
	wantError(t, res.StatusCode, body, 403, "")
	res, body = do(t, "POST", ts.URL+"/api/access-points/import", admin, csvBody)
	wantError(t, res.StatusCode, body, 400, "")
	res, body = do(t, "POST", ts.URL+"/api/access-points/import", admin, csvBody, "Content-Type", "text/csv")
	var bad struct {
		Error struct{ Code, Field string }
		Lines []dispatch.LineError
	}
	// Every bad line, with its number: line 3 names no customer, line 4 has a negative price.
	if err := json.Unmarshal(body, &bad); err != nil || res.StatusCode != 422 || len(bad.Lines) != 2 ||
		bad.Lines[0].Line != 3 || bad.Lines[0].Field != "phone" || bad.Lines[1].Line != 4 || bad.Lines[1].Field != "plan_price" {
		t.Fatalf("bad import = %d %s; want lines 3 (phone) and 4 (plan_price)", res.StatusCode, body)
	}
	csvBody = "phone,access_point,plan_price\n55 2222 0001,AP-NORTE,349.00\n5599990000,AP-NORTE,\n"
	res, body = do(t, "POST", ts.URL+"/api/access-points/import", admin, csvBody, "Content-Type", "text/csv; charset=utf-8")
	if json.Unmarshal(body, &bad); res.StatusCode != 422 || len(bad.Lines) != 1 || bad.Lines[0].Line != 3 {
		t.Fatalf("unknown phone = %d %s", res.StatusCode, body)
	}
	res, body = do(t, "GET", ts.URL+"/api/access-points", disp, "")
	if res.StatusCode != 200 || strings.Contains(string(body), "AP-NORTE") {
		t.Fatalf("after refused imports = %d %s", res.StatusCode, body)
	}
	res, body = do(t, "POST", ts.URL+"/api/access-points/import", admin, "phone,access_point,plan_price\n55 2222 0001,AP-NORTE,349.00\n", "Content-Type", "text/csv")
	if res.StatusCode != 200 || !strings.Contains(string(body), `"updated":1`) {
		t.Fatalf("import = %d %s", res.StatusCode, body)
	}
	res, body = do(t, "GET", ts.URL+"/api/access-points", disp, "")
	if res.StatusCode != 200 || !strings.Contains(string(body), `"name":"AP-NORTE","customers":1`) {
		t.Fatalf("access points = %d %s", res.StatusCode, body)
	}
}
