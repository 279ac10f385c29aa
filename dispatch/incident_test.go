package dispatch_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
)

func TestIncidentInputValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	inc, err := dispatch.IncidentInput{AccessPoint: "  TORRE-NORTE ", Title: "Caída"}.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	if inc.AccessPoint != "TORRE-NORTE" || !inc.StartedAt.Equal(now) || inc.Status != dispatch.IncidentOpen || inc.OpenedBy != dispatch.OpenedByStaff {
		t.Fatalf("incident = %+v", inc)
	}
	cases := []struct {
		name  string
		in    dispatch.IncidentInput
		field string
	}{
		{"no access point", dispatch.IncidentInput{Title: "x"}, "access_point"},
		{"no title", dispatch.IncidentInput{AccessPoint: "A"}, "title"},
		{"start in the future", dispatch.IncidentInput{AccessPoint: "A", Title: "x", StartedAt: at(time.Hour)}, "started_at"},
		{"start long ago", dispatch.IncidentInput{AccessPoint: "A", Title: "x", StartedAt: at(-100 * 24 * time.Hour)}, "started_at"},
		{"estimate before start", dispatch.IncidentInput{AccessPoint: "A", Title: "x", StartedAt: at(-time.Hour), EstimatedRestoreAt: at(-2 * time.Hour)}, "estimated_restore_at"},
		{"access point too long", dispatch.IncidentInput{AccessPoint: strings.Repeat("A", 101), Title: "x"}, "access_point"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.in.Validate(now)
			var de *dispatch.Error
			if !errors.As(err, &de) || de.Kind != dispatch.KindInvalid || de.Field != c.field {
				t.Fatalf("error = %v, want invalid %s", err, c.field)
			}
		})
	}
}

func TestIncidentResolutionCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	inc := &dispatch.Incident{Folio: "I-2026-000001", Status: dispatch.IncidentOpen, StartedAt: now.Add(-6 * time.Hour)}
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	cause, v, restored, err := dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: at(-time.Hour)}.Check(inc, now)
	if err != nil || cause != "Fibra cortada" || v != dispatch.VerdictUpheld || !restored.Equal(now.Add(-time.Hour)) {
		t.Fatalf("Check = %q %q %v %v", cause, v, restored, err)
	}
	for _, c := range []struct {
		res   dispatch.IncidentResolution
		field string
	}{
		{dispatch.IncidentResolution{Verdict: "upheld", RestoredAt: at(0)}, "cause"},
		{dispatch.IncidentResolution{Cause: "c", Verdict: "yes", RestoredAt: at(0)}, "verdict"},
		{dispatch.IncidentResolution{Cause: "c", Verdict: "upheld"}, "restored_at"},
		{dispatch.IncidentResolution{Cause: "c", Verdict: "upheld", RestoredAt: at(-7 * time.Hour)}, "restored_at"},
		{dispatch.IncidentResolution{Cause: "c", Verdict: "upheld", RestoredAt: at(time.Hour)}, "restored_at"},
	} {
		_, _, _, err := c.res.Check(inc, now)
		if de, ok := err.(*dispatch.Error); !ok || de.Kind != dispatch.KindInvalid || de.Field != c.field {
			t.Errorf("Check(%+v) = %v, want invalid %s", c.res, err, c.field)
		}
	}
	resolved := *inc
	resolved.Status = dispatch.IncidentResolved
	if _, _, _, err := (dispatch.IncidentResolution{Cause: "c", Verdict: "upheld", RestoredAt: at(0)}).Check(&resolved, now); dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Fatalf("resolving twice = %v, want conflict", err)
	}
}

func TestIncidentFolio(t *testing.T) {
	t.Parallel()
	if got := dispatch.FormatIncidentFolio(2026, 42); got != "I-2026-000042" {
		t.Fatalf("folio = %q", got)
	}
	if f, ok := dispatch.ParseIncidentFolio(" i-2026-000042 "); !ok || f != "I-2026-000042" {
		t.Fatalf("parse = %q %v", f, ok)
	}
	if _, ok := dispatch.ParseIncidentFolio("R-2026-000042"); ok {
		t.Fatal("a report folio parsed as an incident's")
	}
}

func TestIncidentRuleValidate(t *testing.T) {
	t.Parallel()
	if err := dispatch.DefaultIncidentRule.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []dispatch.IncidentRule{{Threshold: 1, Window: time.Hour}, {Threshold: 5, Window: time.Second},
		{Threshold: 5, Window: time.Hour, MaxLead: time.Second}, {Threshold: 5, Window: time.Hour, MaxLead: 40 * 24 * time.Hour}} {
		if err := r.Validate(); dispatch.ErrorKind(err) != dispatch.KindInvalid {
			t.Errorf("%+v: %v, want invalid", r, err)
		}
	}
}

// TestIncidentRuleStart: the rule dates an outage at its first report's filing, earlier
// only to a moment at least two reports vouch for, and never more than MaxLead earlier.
func TestIncidentRuleStart(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC) // 09:00 in Mexico City
	at := func(d time.Duration) time.Time { return first.Add(d) }
	said := func(d time.Duration) *time.Time { v := first.Add(d); return &v }
	claim := func(filed time.Duration, stated *time.Time) dispatch.OutageClaim {
		return dispatch.OutageClaim{Reported: at(filed), Stated: stated}
	}
	month := said(-30 * 24 * time.Hour)
	for _, c := range []struct {
		name   string
		rule   dispatch.IncidentRule
		claims []dispatch.OutageClaim
		want   time.Time
	}{
		{"filings only: the first", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(10*time.Minute, nil), claim(0, nil), claim(20*time.Minute, nil)}, at(0)},
		{"a stated start equal to the filing says nothing more", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, said(0)), claim(5*time.Minute, said(5*time.Minute))}, at(0)},
		{"one wild start does not move it", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, month), claim(5*time.Minute, nil), claim(10*time.Minute, nil)}, at(0)},
		{"one earlier start alone does not move it", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, nil), claim(5*time.Minute, said(-2*time.Hour)), claim(10*time.Minute, nil)}, at(0)},
		{"two who agree move it", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, said(-3*time.Hour)), claim(5*time.Minute, said(-3*time.Hour)), claim(10*time.Minute, nil)}, at(-3 * time.Hour)},
		{"to the later of the two", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, said(-3*time.Hour)), claim(5*time.Minute, said(-2*time.Hour)), claim(10*time.Minute, nil)}, at(-2 * time.Hour)},
		{"a wild start and an earlier one: the earlier", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, month), claim(5*time.Minute, said(-time.Hour)), claim(10*time.Minute, nil)}, at(-time.Hour)},
		{"a stated start after the filing is the filing", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, said(2*time.Minute)), claim(5*time.Minute, nil)}, at(0)},
		{"never more than a day before the first report", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, month), claim(5*time.Minute, month), claim(10*time.Minute, nil)}, at(-24 * time.Hour)},
		{"nor more than the rule's MaxLead", dispatch.IncidentRule{Threshold: 2, Window: time.Hour, MaxLead: 6 * time.Hour},
			[]dispatch.OutageClaim{claim(0, said(-10*time.Hour)), claim(5*time.Minute, said(-9*time.Hour))}, at(-6 * time.Hour)},
		{"one report: its filing", dispatch.DefaultIncidentRule,
			[]dispatch.OutageClaim{claim(0, said(-time.Hour))}, at(0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.rule.Start(c.claims)
			if !ok || !got.Equal(c.want) {
				t.Fatalf("Start = %s, %v; want %s", got, ok, c.want)
			}
		})
	}
	if _, ok := dispatch.DefaultIncidentRule.Start(nil); ok {
		t.Fatal("Start of no claims: ok; want not ok")
	}
}

func TestParseAccessPointCSV(t *testing.T) {
	t.Parallel()
	rows, err := dispatch.ParseAccessPointCSV(strings.NewReader("\ufeffPhone,Access Point,Plan_Price\r\n55 1234 5678,TORRE-1,349.00\r\n+52 1 55 8765 4321, TORRE-2 ,\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Phone != "+525512345678" || rows[0].AccessPoint != "TORRE-1" || *rows[0].PlanPrice != 34900 || rows[0].Line != 2 {
		t.Errorf("row 1 = %+v", rows[0])
	}
	if rows[1].Phone != "+525587654321" || rows[1].AccessPoint != "TORRE-2" || rows[1].PlanPrice != nil || rows[1].Line != 3 {
		t.Errorf("row 2 = %+v", rows[1])
	}

	// Every bad line is reported, with its number and field.
	_, err = dispatch.ParseAccessPointCSV(strings.NewReader("customer_id,access_point,plan_price\n1,A,10\nx,A,10\n2,,10\n3,A,-5\n4,A,1.234\n5,A,\n"))
	var le *dispatch.LinesError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v, want lines", err)
	}
	want := []dispatch.LineError{{Line: 3, Field: "customer_id"}, {Line: 4, Field: "access_point"}, {Line: 5, Field: "plan_price"}, {Line: 6, Field: "plan_price"}}
	if len(le.Lines) != len(want) {
		t.Fatalf("lines = %+v, want %v", le.Lines, want)
	}
	for i, w := range want {
		if le.Lines[i].Line != w.Line || le.Lines[i].Field != w.Field || le.Lines[i].Message == "" {
			t.Errorf("line error %d = %+v, want %+v", i, le.Lines[i], w)
		}
	}

	for name, in := range map[string]string{
		"empty":        "",
		"header only":  "phone,access_point\n",
		"no id column": "name,access_point\nA,B\n",
		"no ap column": "phone,name\n5512345678,B\n",
		"broken quote": "phone,access_point\n\"5512345678,B\n",
	} {
		if _, err := dispatch.ParseAccessPointCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseAccessPointCSV(f *testing.F) {
	f.Add("phone,access_point,plan_price\n5512345678,TORRE-1,349.00\n")
	f.Add("customer_id,access_point\n1,\"A,B\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := dispatch.ParseAccessPointCSV(strings.NewReader(in))
		if err == nil && len(rows) == 0 {
			t.Fatal("no error and no rows")
		}
		for _, r := range rows {
			if r.AccessPoint == "" || (r.Phone == "" && r.CustomerID == 0) || (r.PlanPrice != nil && *r.PlanPrice < 0) {
				t.Fatalf("bad row accepted: %+v", r)
			}
		}
	})
}
