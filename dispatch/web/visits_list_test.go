package web_test

import (
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestListVisitsReportSLA: each listed visit carries its report's resolution due time and
// SLA state at the server's clock. An urgent fault (4 h wall clock) is ok at first, at risk
// past 80 % of its budget and breached past its due time, before the SLA job has run; a
// report waiting on the customer has no due time (its clock is stopped).
func TestListVisitsReportSLA(t *testing.T) {
	t.Parallel()
	ts, tok, _, clk := newDispatchServer(t)
	a := tok[dispatch.RoleAgent]
	t0 := clk.Now()

	ticket := func(phone, priority string) string {
		t.Helper()
		var out struct{ Folio string }
		mustJSON(t, "POST", ts.URL+"/api/tickets", a, fmt.Sprintf(`{"channel":"phone","kind":"fault","priority":%q,
			"customer":{"name":"Cliente SLA","phone":%q},"address":{"line":"Calle 1","lat":19.4,"lon":-99.1},"description":"Sin servicio"}`, priority, phone), 201, &out)
		return out.Folio
	}
	urgent := ticket("55 7000 0001", "urgent")
	normal := ticket("55 7000 0002", "normal")
	paused := ticket("55 7000 0003", "urgent")
	for _, f := range []string{urgent, normal, paused} {
		createVisit(t, ts, a, f, `{"duration_min":30,"skills":["fiber"]}`)
	}
	mustJSON(t, "POST", ts.URL+"/api/tickets/"+paused+"/transitions", a, `{"action":"wait_customer","reason":"Esperamos fotos"}`, 200, nil)

	type item struct {
		Folio          string
		ReportDueAt    *time.Time `json:"report_due_at"`
		ReportSLAState string     `json:"report_sla_state"`
	}
	list := func() map[string]item {
		t.Helper()
		var p struct{ Items []item }
		mustJSON(t, "GET", ts.URL+"/api/visits?status=unscheduled", a, "", 200, &p)
		out := map[string]item{}
		for _, it := range p.Items {
			out[it.Folio] = it
		}
		if len(out) != 3 {
			t.Fatalf("listed %v, want the three visits", p.Items)
		}
		return out
	}

	got := list()
	if u := got[urgent]; u.ReportDueAt == nil || !u.ReportDueAt.Equal(t0.Add(4*time.Hour)) || u.ReportSLAState != "ok" {
		t.Fatalf("urgent report's visit at filing = due %v, %q; want due %v, ok", u.ReportDueAt, u.ReportSLAState, t0.Add(4*time.Hour))
	}
	if n := got[normal]; n.ReportDueAt == nil || !n.ReportDueAt.After(t0.Add(24*time.Hour)) || n.ReportSLAState != "ok" {
		t.Fatalf("normal report's visit = due %v, %q; want due beyond a day (24 business hours), ok", n.ReportDueAt, n.ReportSLAState)
	}
	if p := got[paused]; p.ReportDueAt != nil || p.ReportSLAState != "ok" {
		t.Fatalf("waiting report's visit = due %v, %q; want no due time, ok", p.ReportDueAt, p.ReportSLAState)
	}

	for _, c := range []struct {
		after time.Duration
		want  string
	}{{3*time.Hour + 20*time.Minute, "at_risk"}, {4*time.Hour + time.Minute, "breached"}} {
		clk.Set(t0.Add(c.after))
		got := list()
		if u := got[urgent]; u.ReportSLAState != c.want {
			t.Errorf("urgent report's visit %v after filing = %q, want %q", c.after, u.ReportSLAState, c.want)
		}
		if n, p := got[normal], got[paused]; n.ReportSLAState != "ok" || p.ReportSLAState != "ok" {
			t.Errorf("%v after filing: normal %q, waiting %q; want both ok", c.after, n.ReportSLAState, p.ReportSLAState)
		}
	}
}
