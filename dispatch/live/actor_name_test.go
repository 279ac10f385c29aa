package live_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
)

// TestLiveActorName: a live message names the user who acted (actor_name) for staff and
// technicians, live and replayed, so that the board's activity list can say who took each
// step; it carried only "user:12". The customer's status page never gets it, nor the raw
// actor: who on staff acted is not the customer's to read.
func TestLiveActorName(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ctx := context.Background()
	var techUser int64
	in := startInstance(t, db, live.Options{
		TechnicianOf: func(_ context.Context, userID int64) (int64, error) {
			if userID == techUser {
				return 7, nil
			}
			return 0, dispatch.NotFound("technician")
		},
		// As serve wires it.
		FolioAccess: postgres.NewReports(db, postgres.NewEvents(), dispatch.SLA{}).IDForCode,
		Folios: func(ctx context.Context, ids []int64) (map[int64]string, error) {
			var rows []struct {
				ID    int64
				Folio string
			}
			if err := db.NewRaw("SELECT id, folio FROM reports WHERE id IN (?)", bun.In(ids)).Scan(ctx, &rows); err != nil {
				return nil, err
			}
			out := map[int64]string{}
			for _, r := range rows {
				out[r.ID] = r.Folio
			}
			return out, nil
		},
	})
	res0, err := http.Post(in.ts.URL+"/public/reports", "application/json", strings.NewReader(
		`{"customer":{"name":"Rosa","phone":"55 4444 1235"},"address":{"line":"Calle 5"},"kind":"fault","description":"Sin internet"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Folio      string `json:"folio"`
		AccessCode string `json:"access_code"`
	}
	if err := json.NewDecoder(res0.Body).Decode(&created); err != nil || res0.StatusCode != 201 {
		t.Fatalf("public report: %d %v", res0.StatusCode, err)
	}
	res0.Body.Close()
	var report int64
	if err := db.NewRaw("SELECT id FROM reports WHERE folio = ?", created.Folio).Scan(ctx, &report); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Sequence(ctx, db); err != nil { // its report.created is before start
		t.Fatal(err)
	}
	staffTok, disp := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	techTok, tu := signIn(t, in, "tecnico@example.mx", dispatch.RoleTechnician)
	techUser = tu.ID
	for id, name := range map[int64]string{disp.ID: "Ana Despachadora", tu.ID: "Juan Técnico"} {
		if _, err := db.ExecContext(ctx, "UPDATE users SET name = ? WHERE id = ?", name, id); err != nil {
			t.Fatal(err)
		}
	}

	start := lastSeq(t, db)
	staff := mustDial(t, in, staffTok, start)
	tech := mustDial(t, in, techTok, start)
	public, res, err := dialURL(t, wsURL(in, "/public/reports/"+created.Folio+"/live",
		url.Values{"code": {created.AccessCode}, "after": {itoa(start)}}), nil, nil)
	if err != nil {
		t.Fatalf("status page: %v (%s)", err, body(res))
	}

	appendEvents(t, db,
		dispatch.Event{Type: "report.noted", ReportID: report, Actor: "user:" + itoa(disp.ID), ActorUserID: disp.ID, Channel: "phone",
			Data: data(map[string]any{"note": "Llamó de nuevo"})},
		dispatch.Event{Type: "visit.en_route", ReportID: report, VisitID: 3, TechnicianID: 7, Actor: "technician:7", ActorUserID: tu.ID,
			Data: data(map[string]any{"status": "en_route", "eta": "2026-11-25T17:00:00Z"})},
		dispatch.Event{Type: "report.status_changed", ReportID: report, Actor: "system", Data: data(map[string]any{"status": "in_progress"})},
	)
	want := map[string]string{"report.noted": "Ana Despachadora", "visit.en_route": "Juan Técnico", "report.status_changed": ""}
	check := func(who string, msgs []live.Message) {
		t.Helper()
		for _, m := range msgs {
			var d map[string]any
			if err := json.Unmarshal(m.Data, &d); err != nil {
				t.Fatal(err)
			}
			name, _ := d["actor_name"].(string)
			if w, ok := want[m.Type]; !ok || name != w || (w == "" && d["actor_name"] != nil) {
				t.Errorf("%s: %s by %v named %q, want %q", who, m.Type, d["actor"], name, w)
			}
		}
	}
	check("dispatcher", readN(t, staff, 3))
	check("technician", readN(t, tech, 1))
	// A replay (after=) reads the log as the pump does and names the same people.
	check("dispatcher replaying", readN(t, mustDial(t, in, staffTok, start), 3))

	for _, m := range readN(t, public, 3) {
		var d map[string]any
		_ = json.Unmarshal(m.Data, &d)
		if d["actor_name"] != nil || d["actor"] != nil || strings.Contains(string(m.Data), "Ana") || strings.Contains(string(m.Data), "Juan") {
			t.Errorf("status page got %s %s: want no actor nor actor_name", m.Type, m.Data)
		}
		if d["folio"] != created.Folio {
			t.Errorf("status page got %s %s: want its folio", m.Type, m.Data)
		}
	}
}
