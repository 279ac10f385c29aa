package dispatch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/sla"
)

var mx = func() *time.Location {
	loc, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		panic(err)
	}
	return loc
}()

func TestCanMove(t *testing.T) {
	t.Parallel()
	legal := map[Status][]Action{
		StatusOpen:            {ActionStart, ActionAwaitVisit, ActionWaitCustomer, ActionResolve, ActionCancel, ActionAssignArea, ActionNote, ActionReclassify},
		StatusInProgress:      {ActionAwaitVisit, ActionWaitCustomer, ActionResolve, ActionCancel, ActionAssignArea, ActionNote, ActionReclassify},
		StatusAwaitingVisit:   {ActionStart, ActionWaitCustomer, ActionResolve, ActionCancel, ActionAssignArea, ActionNote, ActionReclassify},
		StatusWaitingCustomer: {ActionResume, ActionResolve, ActionCancel, ActionAssignArea, ActionNote, ActionReclassify},
		StatusResolved:        {ActionClose, ActionReopen, ActionNote},
		StatusClosed:          {ActionReopen, ActionNote},
		StatusCancelled:       {ActionNote},
	}
	for _, from := range Statuses {
		for _, a := range Actions {
			want := false
			for _, l := range legal[from] {
				want = want || l == a
			}
			if _, got := CanMove(from, a); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, a, got, want)
			}
		}
	}
	if to, _ := CanMove(StatusClosed, ActionReopen); to != StatusOpen {
		t.Errorf("reopen leads to %s, want open", to)
	}
}

func TestFolioAndAccessCode(t *testing.T) {
	t.Parallel()
	if got := FormatFolio(2026, 123); got != "R-2026-000123" {
		t.Errorf("FormatFolio = %s, want R-2026-000123", got)
	}
	for in, want := range map[string]bool{"R-2026-000123": true, " r-2026-000123 ": true, "R-2026-1234567": true, "R-2026-12": false, "2026-000123": false, "R-2026-000123; DROP": false} {
		if _, ok := ParseFolio(in); ok != want {
			t.Errorf("ParseFolio(%q) ok = %v, want %v", in, ok, want)
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		c := NewAccessCode()
		if len(c) != AccessCodeLen || strings.ContainsAny(c, "01ILO") || seen[c] {
			t.Fatalf("NewAccessCode = %q (len %d, seen %v)", c, len(c), seen[c])
		}
		seen[c] = true
	}
	r := &Report{Folio: "R-2026-000001"}
	code := "ABCD2345EFGH"
	r.AccessCodeHash = HashAccessCode(r.Folio, code)
	for in, want := range map[string]bool{code: true, "abcd-2345-efgh": true, "ABCD 2345 EFGH": true, "ABCD2345EFGJ": false, "": false} {
		if got := r.CheckAccessCode(in); got != want {
			t.Errorf("CheckAccessCode(%q) = %v, want %v", in, got, want)
		}
	}
	other := &Report{Folio: "R-2026-000002", AccessCodeHash: r.AccessCodeHash}
	if other.CheckAccessCode(code) {
		t.Error("a code hash opened another folio")
	}
}

func TestValidateReport(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	in := ReportInput{Channel: "phone", Kind: "complaint", Description: "Me cobraron dos veces\nDetalle...",
		Customer: CustomerInput{Name: " Ana ", Phone: "+52 1 55 1234 5678", Email: "Ana@Example.MX"}}
	nr, err := in.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	r, c := nr.Report, nr.Customer
	if r.Area != AreaComplaints || r.Priority != sla.PriorityNormal || r.Status != StatusOpen || r.Subject != "Me cobraron dos veces" || r.OutageStartedAt != nil {
		t.Errorf("report = %+v", r)
	}
	if c.Name != "Ana" || c.Phone != "+525512345678" || c.Email != "ana@example.mx" || c.Language != Spanish || nr.Location != nil {
		t.Errorf("customer = %+v, location %+v", c, nr.Location)
	}
	in.Kind, in.OutageStartedAt = "fault", nil
	nr, _ = in.Validate(now)
	if nr.Report.OutageStartedAt == nil || !nr.Report.OutageStartedAt.Equal(now) || nr.Report.Area != AreaTechnical {
		t.Errorf("fault outage_started_at = %v, area %s", nr.Report.OutageStartedAt, nr.Report.Area)
	}
	future := now.Add(time.Hour)
	in.OutageStartedAt = &future
	if _, err := in.Validate(now); fieldOf(err) != "outage_started_at" {
		t.Errorf("future outage: %v", err)
	}
}

func fieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return "<not a domain error>"
}

func TestApplySLAPause(t *testing.T) {
	t.Parallel()
	s := DefaultSLA()
	// Wednesday 10:00 in Mexico City, a normal fault: 24 business hours.
	created := time.Date(2026, 11, 25, 10, 0, 0, 0, mx)
	r := &Report{Kind: sla.KindFault, Priority: sla.PriorityNormal, Status: StatusOpen, CreatedAt: created.UTC(), Version: 1}
	r.ComputeSLA(s)
	due0 := *r.DueAt
	if want := s.Calendar.AddBusiness(created, 24*time.Hour); !due0.Equal(want) {
		t.Fatalf("due = %v, want %v", due0, want)
	}
	if r.SLARiskAt == nil || !r.SLARiskAt.Before(due0) {
		t.Fatalf("risk at %v, due %v", r.SLARiskAt, due0)
	}
	// Wait on the customer from 11:00 to 13:00: the due time moves two business hours.
	if _, typ, _, err := r.Apply(Change{Action: ActionWaitCustomer}, created.Add(time.Hour), s); err != nil || typ != EventReportStatusChanged {
		t.Fatalf("wait: %s %v", typ, err)
	}
	if r.DueAt != nil || r.PausedSince == nil || r.FirstRespondedAt == nil {
		t.Fatalf("while waiting: due %v paused %v", r.DueAt, r.PausedSince)
	}
	if st := r.SLAStatus(s, created.Add(2*time.Hour)); !st.Paused {
		t.Fatalf("status while waiting = %+v", st)
	}
	if _, _, _, err := r.Apply(Change{Action: ActionResume}, created.Add(3*time.Hour), s); err != nil {
		t.Fatal(err)
	}
	if want := s.Calendar.AddBusiness(due0, 2*time.Hour); r.DueAt == nil || !r.DueAt.Equal(want) || len(r.Pauses) != 1 || r.PausedSince != nil {
		t.Fatalf("after resume: due %v (want %v), pauses %v", r.DueAt, want, r.Pauses)
	}
	// An illegal move changes nothing.
	before := *r
	if _, _, _, err := r.Apply(Change{Action: ActionClose}, created.Add(4*time.Hour), s); err == nil || ErrorKind(err) != KindConflict {
		t.Fatalf("close from in_progress: %v", err)
	}
	if r.Status != before.Status || r.UpdatedAt != before.UpdatedAt {
		t.Fatal("an illegal move changed the report")
	}
	// Resolving freezes the due time; reopening later adds the resolved span as a pause.
	restored := true
	if _, typ, data, err := r.Apply(Change{Action: ActionResolve, Cause: "ONT", Verdict: "upheld", ServiceRestored: &restored}, created.Add(5*time.Hour), s); err != nil || typ != EventReportResolved || data["to"] != StatusResolved {
		t.Fatalf("resolve: %s %v %v", typ, data, err)
	}
	if r.ServiceRestoredAt == nil || r.RestoredConfirmedAt == nil || r.DueAt == nil {
		t.Fatalf("resolved: %+v", r)
	}
	if _, _, _, err := r.Apply(Change{Action: ActionReopen}, created.Add(6*time.Hour), s); err != nil {
		t.Fatal(err)
	}
	if len(r.Pauses) != 2 || r.Status != StatusOpen {
		t.Fatalf("reopened: pauses %v status %s", r.Pauses, r.Status)
	}
}

// TestReclassify changes an inquiry into an urgent fault: the due times follow the new
// policy from the creation instant, the policy is fixed on the report, and bad values are
// refused naming the field without changing anything.
func TestReclassify(t *testing.T) {
	t.Parallel()
	s := DefaultSLA()
	created := time.Date(2026, 11, 25, 10, 0, 0, 0, mx) // Wednesday 10:00
	r := &Report{Kind: sla.KindInquiry, Priority: sla.PriorityNormal, Status: StatusOpen, CreatedAt: created.UTC(), Version: 1,
		SLAState: sla.StateOK, FirstResponseState: sla.StateOK}
	r.FixPolicy(s)
	r.ComputeSLA(s)
	for _, c := range []struct {
		change Change
		field  string
		kind   Kind
	}{
		{Change{Action: ActionReclassify}, "kind", KindInvalid},
		{Change{Action: ActionReclassify, Kind: "outage"}, "kind", KindInvalid},
		{Change{Action: ActionReclassify, Priority: "asap"}, "priority", KindInvalid},
		{Change{Action: ActionReclassify, Kind: "inquiry", Priority: "normal"}, "", KindConflict},
	} {
		before := *r
		_, _, _, err := r.Apply(c.change, created.Add(time.Minute), s)
		if ErrorKind(err) != c.kind || fieldOf(err) != c.field && c.field != "" {
			t.Errorf("Apply(%+v) = %v; want %s on %q", c.change, err, c.kind, c.field)
		}
		if r.Kind != before.Kind || r.Priority != before.Priority || r.Version != before.Version {
			t.Fatalf("a refused change changed the report: %+v", r)
		}
	}
	// Three hours in, the inquiry (due in one business day) turns out to be an urgent fault
	// (4 h wall clock from creation): 80 % used, so it is at risk, but the job says so.
	now := created.Add(3*time.Hour + 30*time.Minute)
	_, typ, data, err := r.Apply(Change{Action: ActionReclassify, Kind: "fault", Priority: "urgent"}, now, s)
	if err != nil || typ != EventReportReclassified {
		t.Fatalf("reclassify: %s %v", typ, err)
	}
	if want := created.Add(4 * time.Hour); r.DueAt == nil || !r.DueAt.Equal(want) {
		t.Fatalf("due = %v, want %v", r.DueAt, want)
	}
	if want := created.Add(30 * time.Minute); r.FirstResponseDueAt == nil || !r.FirstResponseDueAt.Equal(want) {
		t.Fatalf("first response due = %v, want %v", r.FirstResponseDueAt, want)
	}
	if r.SLAPolicy == nil || r.SLAPolicy.Resolution != sla.Wall(4*time.Hour) || r.OutageStartedAt == nil {
		t.Fatalf("policy %+v, outage %v", r.SLAPolicy, r.OutageStartedAt)
	}
	if data["from_kind"] != sla.KindInquiry || data["to_priority"] != sla.PriorityUrgent || r.FirstRespondedAt == nil {
		t.Fatalf("data %v, responded %v", data, r.FirstRespondedAt)
	}
	// Back to a low fault (48 business hours): the recorded breach goes back to ok.
	r.SLAState = sla.StateBreached
	if _, _, _, err := r.Apply(Change{Action: ActionReclassify, Priority: "low"}, now.Add(time.Hour), s); err != nil {
		t.Fatal(err)
	}
	if r.Kind != sla.KindFault || r.SLAState != sla.StateOK {
		t.Fatalf("kind %s, state %s; want fault, ok", r.Kind, r.SLAState)
	}
	// The fixed policy wins over whatever the policies say later.
	other, err := sla.NewPolicies(sla.Policy{FirstResponse: sla.Wall(time.Minute), Resolution: sla.Wall(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	due := *r.DueAt
	r.ComputeSLA(SLA{Calendar: s.Calendar, Policies: other})
	if !r.DueAt.Equal(due) {
		t.Fatalf("due after a policy edit = %v, want %v", r.DueAt, due)
	}
}

func TestGuessKind(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]sla.Kind{
		"No tengo internet":             sla.KindFault,
		"QUEJA por mal servicio":        sla.KindComplaint,
		"Aclaración de mi factura":      sla.KindClarification,
		"Quiero cancelar el servicio":   sla.KindCancellation,
		"Una sugerencia":                sla.KindSuggestion,
		"Tengo una duda sobre paquetes": sla.KindInquiry,
		"Hola":                          sla.KindOther,
		// "recibo" and "cargo" are also verbs: no signal, a page that did not load.
		"No recibo señal desde ayer":                    sla.KindFault,
		"La página no cargó":                            sla.KindFault,
		"No tenemos internet en la sucursal":            sla.KindFault,
		"Mi recibo llegó con un cargo que no reconozco": sla.KindClarification,
		"Me hicieron un cargo extra":                    sla.KindClarification,
	} {
		if got := GuessKind(text); got != want {
			t.Errorf("GuessKind(%q) = %s, want %s", text, got, want)
		}
	}
}

// FuzzCreateTicket feeds arbitrary JSON to the validation of new reports: it never panics,
// refuses only with invalid errors naming a field, and what it accepts is clean.
func FuzzCreateTicket(f *testing.F) {
	for _, s := range []string{
		`{"channel":"phone","kind":"fault","customer":{"name":"María","phone":"044 55 1234 5678","plan_price":499},"address":{"line":"Insurgentes 1","lat":19.4,"lon":-99.1},"description":"Sin servicio"}`,
		`{"channel":"web","kind":"inquiry","customer":{"name":"A","email":"a@b.mx"},"description":"x"}`,
		`{"channel":"sms","kind":"other","customer":{"name":"B","phone":"+1 415 555 2671","language":"en"},"description":"y","priority":"urgent","area":"billing"}`,
		`{"channel":"email","kind":"fault","customer":{"name":"C","phone":"abc"},"description":"z","outage_started_at":"2026-11-25T10:00:00Z"}`,
		`{"address":{"lat":91}}`, `{}`, `[]`, `null`, `{"customer":{"plan_price":-1e308}}`,
	} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		var in ReportInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		nr, err := in.Validate(now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Field == "" {
				t.Fatalf("Validate(%s) = %v; want an invalid error naming a field", body, err)
			}
			return
		}
		c := nr.Customer
		if c.Phone != "" && !strings.HasPrefix(c.Phone, "+") || c.Phone == "" && c.Email == "" || c.Name == "" {
			t.Fatalf("accepted customer %+v", c)
		}
		if nr.Report.Description == "" || nr.Report.Subject == "" {
			t.Fatalf("accepted report %+v", nr.Report)
		}
		if l := nr.Location; l != nil && (l.Line == "" || (l.Lat == nil) != (l.Lon == nil)) {
			t.Fatalf("accepted location %+v", l)
		}
	})
}

func TestParseFolioAsTyped(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"R-2026-000123": "R-2026-000123", "r 2026 000123": "R-2026-000123", "R2026000123": "R-2026-000123",
		"R - 2026 - 000123": "R-2026-000123", "R–2026—000123": "R-2026-000123", "R\u00a02026\u00a0000123": "R-2026-000123",
		"r-2026 1234567": "R-2026-1234567",
	} {
		if got, ok := ParseFolio(in); !ok || got != want {
			t.Errorf("ParseFolio(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"R 2026 12", "2026 000123", "R-2026-000123 x", "R20260001", "I-2026-000123"} {
		if got, ok := ParseFolio(in); ok {
			t.Errorf("ParseFolio(%q) = %q, ok; want not a folio", in, got)
		}
	}
}
