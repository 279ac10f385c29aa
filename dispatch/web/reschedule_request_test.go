package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestRescheduleRequestInTheVisitList: a visit booked with a technician whose customer
// answered "2" (another time) is in no list the board's queue read: not unscheduled, not
// without a technician. ?reschedule_requested=true lists it with reschedule_requested_at,
// and DELETE /api/visits/{id}/reschedule-request (an agent who called him back) clears
// it, with visit.reschedule_request_cleared on the folio's timeline.
func TestRescheduleRequestInTheVisitList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	clk := &clock{t: monday.Add(7 * time.Hour)}
	ts := httptest.NewServer(web.New(web.Config{DB: db, Now: clk.Now}))
	t.Cleanup(ts.Close)
	users := postgres.NewUsers(db)
	d := login(t, ts, users, "disp.ask@despacho.example.mx", dispatch.RoleDispatcher)
	a := login(t, ts, users, "agent.ask@despacho.example.mx", dispatch.RoleAgent)
	tech := login(t, ts, users, "juan.ask@despacho.example.mx", dispatch.RoleTechnician)
	juan := createTechFor(t, ts, d, users, "juan.ask@despacho.example.mx", "Juan", 19.43, -99.13)

	folio := createTicket(t, ts, a, 19.40, -99.16)
	v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, &booked)
	if booked.TechnicianID == nil || *booked.TechnicianID != juan {
		t.Fatalf("booked = %+v; want Juan's", booked)
	}

	type item struct {
		ID                    int64      `json:"id"`
		TechnicianID          *int64     `json:"technician_id"`
		RescheduleRequestedAt *time.Time `json:"reschedule_requested_at"`
	}
	list := func(q string) []item {
		t.Helper()
		var out struct{ Items []item }
		mustJSON(t, "GET", ts.URL+"/api/visits?"+q, d, "", 200, &out)
		return out.Items
	}
	if got := list("reschedule_requested=true"); len(got) != 0 {
		t.Fatalf("asking for another time before any request: %+v", got)
	}
	// What the inbound text's transaction does (cmd/despacho's smsReplies).
	asked := monday.Add(7*time.Hour + 5*time.Minute).UTC()
	events := postgres.NewEvents()
	err := events.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		if err := events.Append(ctx, tx, &dispatch.Event{Type: "visit.reschedule_requested", At: asked, Actor: "customer", Channel: "sms",
			VisitID: v.ID, ReportID: reportID(t, ctx, tx, folio)}, map[string]string{"folio": folio}); err != nil {
			return err
		}
		return postgres.RequestReschedule(ctx, tx, v.ID, asked)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := list("reschedule_requested=true")
	if len(got) != 1 || got[0].ID != v.ID || got[0].TechnicianID == nil || *got[0].TechnicianID != juan ||
		got[0].RescheduleRequestedAt == nil || !got[0].RescheduleRequestedAt.Equal(asked) {
		t.Fatalf("asking for another time = %+v; want visit %d, Juan's, requested at %v", got, v.ID, asked)
	}
	// Every list says it: the day's too, which the board lends to the plan's blocks.
	if day := list("day=2026-11-30"); len(day) != 1 || day[0].RescheduleRequestedAt == nil {
		t.Errorf("the day's list = %+v; want the visit with its request", day)
	}
	res, b := do(t, "GET", ts.URL+"/api/visits?reschedule_requested=si", d, "")
	if code, field := errorCode(t, b); res.StatusCode != 422 || field != "reschedule_requested" {
		t.Errorf("reschedule_requested=si = %d %s %s; want 422 naming reschedule_requested", res.StatusCode, code, field)
	}
	url := fmt.Sprintf("%s/api/visits/%d/reschedule-request", ts.URL, v.ID)
	if res, b := do(t, "DELETE", url, tech, ""); res.StatusCode != 403 {
		t.Errorf("a technician clearing the request = %d %s; want 403", res.StatusCode, b)
	}
	mustJSON(t, "DELETE", url, a, "", 200, nil)
	if got := list("reschedule_requested=true"); len(got) != 0 {
		t.Errorf("cleared, still asking for another time: %+v", got)
	}
	ev := lastEvent(t, ts, a, folio, postgres.EventVisitRescheduleCleared)
	if at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(ev.Data["requested_at"])); !at.Equal(asked) {
		t.Errorf("%s data = %v; want requested_at %v", postgres.EventVisitRescheduleCleared, ev.Data, asked)
	}
	if res, b := do(t, "DELETE", fmt.Sprintf("%s/api/visits/%d/reschedule-request", ts.URL, v.ID+100), a, ""); res.StatusCode != 404 {
		t.Errorf("clearing an unknown visit = %d %s; want 404", res.StatusCode, b)
	}
}

func reportID(t *testing.T, ctx context.Context, tx bun.Tx, folio string) int64 {
	t.Helper()
	var id int64
	if err := tx.QueryRowContext(ctx, "SELECT id FROM reports WHERE folio = ?", folio).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestUrgentInsertSaysUrgent: a visit created without the urgent flag and inserted into
// today's plan at once was answered "urgent": false, and the board listed it as any other.
// The insertion marks it urgent: its answer and every later read say so.
func TestUrgentInsertSaysUrgent(t *testing.T) {
	t.Parallel()
	ts, tok, _, clk := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	createTech(t, ts, d, "Ana López", 19.43, -99.13, `"fiber"`, "")
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":45,"skills":["fiber"]}`)
	clk.Set(monday.Add(11 * time.Hour))
	var got struct {
		Status string
		Urgent bool
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/insert", ts.URL, v.ID), d, "", 200, &got)
	if got.Status != "booked" || !got.Urgent {
		t.Errorf("urgent insert answered %+v; want booked and urgent", got)
	}
	got.Urgent = false
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), a, "", 200, &got)
	if !got.Urgent {
		t.Error("the inserted visit reads urgent: false")
	}
}

// TestOpenAPIAnotherTechniciansVisitIs404: the server answers 404 to a technician asking
// for another technician's visit (or stepping it), so that ids cannot be probed; the
// OpenAPI document said 403.
func TestOpenAPIAnotherTechniciansVisitIs404(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	login(t, ts, users, "ana.doc@despacho.example.mx", dispatch.RoleTechnician)
	beto := login(t, ts, users, "beto.doc@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "ana.doc@despacho.example.mx", "Ana", 19.43, -99.13)
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":60,"skills":["fiber"]}`)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, nil)
	if res, b := do(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), beto, ""); res.StatusCode != 404 {
		t.Fatalf("another technician's visit = %d %s; want 404", res.StatusCode, b)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Description string
			Responses   map[string]struct{ Description string }
		}
	}
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct{ path, method string }{{"/api/visits/{id}", "get"}, {"/api/visits/{id}/status", "post"}} {
		o := doc.Paths[op.path][op.method]
		if r403 := o.Responses["403"].Description; strings.Contains(r403, "technician") {
			t.Errorf("%s %s: 403 %q; another technician's visit is 404", op.method, op.path, r403)
		}
		if r404 := o.Responses["404"].Description; !strings.Contains(r404, "another technician") {
			t.Errorf("%s %s: 404 %q does not say another technician's visit is 404", op.method, op.path, r404)
		}
		if strings.Contains(o.Description, "is 403") {
			t.Errorf("%s %s: description %q says 403", op.method, op.path, o.Description)
		}
	}
}
