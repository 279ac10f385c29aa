package sla

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// week5 is a calendar document's week open Monday to Friday 09:00–18:00.
const week5 = `{"monday":[{"open":"09:00","close":"18:00"}],"tuesday":[{"open":"09:00","close":"18:00"}],
	"wednesday":[{"open":"09:00","close":"18:00"}],"thursday":[{"open":"09:00","close":"18:00"}],
	"friday":[{"open":"09:00","close":"18:00"}],"saturday":[],"sunday":[]}`

func calendarDoc(tb testing.TB, s string) CalendarDocument {
	tb.Helper()
	var d CalendarDocument
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		tb.Fatalf("%s: %v", s, err)
	}
	return d
}

// TestCalendarDocumentRoundTrip: the default calendar written as a document and read back
// counts business time as the original does, and a document with a split day, a closure and
// a short day comes back as it went, exceptions in date order.
func TestCalendarDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	def := DefaultCalendar()
	b, err := json.Marshal(def.Document())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"sunday":[]`) || !strings.Contains(string(b), `"exceptions":[]`) {
		t.Fatalf("default document %s: want a closed Sunday as [] and no exceptions as []", b)
	}
	got, err := def.WithDocument(calendarDoc(t, string(b)))
	if err != nil {
		t.Fatal(err)
	}
	start := at(t, mx, "2026-12-23 17:00") // Wednesday, Christmas on Friday
	for _, d := range []time.Duration{time.Hour, 3 * time.Hour, 40 * time.Hour} {
		if g, w := got.AddBusiness(start, d), def.AddBusiness(start, d); !g.Equal(w) {
			t.Errorf("AddBusiness(%v) = %v, want %v", d, g, w)
		}
	}

	in := `{"week":` + strings.Replace(week5, `"friday":[{"open":"09:00","close":"18:00"}]`,
		`"friday":[{"open":"15:00","close":"18:00"},{"open":"09:00","close":"14:00"}]`, 1) + `,
		"exceptions":[{"date":"2027-12-31","name":"  Último día  ","hours":[{"open":"09:00","close":"13:00"}]},
		{"date":"2027-12-24","name":"Cierre de fin de año","closed":true}]}`
	cal, err := def.WithDocument(calendarDoc(t, in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(cal.Document())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"friday":[{"open":"09:00","close":"14:00"},{"open":"15:00","close":"18:00"}]`,
		`"exceptions":[{"date":"2027-12-24","name":"Cierre de fin de año","closed":true},{"date":"2027-12-31","name":"Último día","closed":false,"hours":[{"open":"09:00","close":"13:00"}]}]`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("document %s lacks %s", out, want)
		}
	}
	// 24 December 2027 is a Friday: an hour before Thursday's close plus two hours ends on
	// Monday the 27th at 10:00, the closure skipped.
	if got, want := cal.AddBusiness(at(t, mx, "2027-12-23 17:00"), 2*time.Hour), at(t, mx, "2027-12-27 10:00"); !got.Equal(want) {
		t.Errorf("AddBusiness over the closure = %v, want %v", got, want)
	}
	if got, want := cal.AddBusiness(at(t, mx, "2027-12-31 12:00"), 2*time.Hour), at(t, mx, "2028-01-03 10:00"); !got.Equal(want) {
		t.Errorf("AddBusiness over the short day and New Year = %v, want %v", got, want)
	}
}

// TestCalendarDocumentErrors: every bad value is named by its JSON path and says what is
// wrong; nothing half-valid comes back.
func TestCalendarDocumentErrors(t *testing.T) {
	t.Parallel()
	day := func(from, to string) string {
		return strings.Replace(week5, `"monday":[{"open":"09:00","close":"18:00"}]`, `"monday":[`+from+`]`, 1) + to
	}
	ok := `{"date":"2027-12-24","name":"Cierre","closed":true}`
	many := strings.Repeat(`{"open":"01:00","close":"02:00"},`, MaxOpenings) + `{"open":"03:00","close":"04:00"}`
	var tooMany []string
	for i := range MaxExceptions + 1 {
		tooMany = append(tooMany, `{"date":"`+Date{2030, time.January, 1}.AddDays(i).String()+`","name":"x","closed":true}`)
	}
	tests := []struct {
		name, doc, field, says string
	}{
		{"no week", `{"exceptions":[]}`, "week", "required"},
		{"missing day", `{"week":{"monday":[]},"exceptions":[]}`, "week.tuesday", "required"},
		{"25:00", `{"week":` + day(`{"open":"09:00","close":"25:00"}`, "") + `,"exceptions":[]}`, "week.monday[0].close", "HH:MM"},
		{"9am", `{"week":` + day(`{"open":"9am","close":"18:00"}`, "") + `,"exceptions":[]}`, "week.monday[0].open", "HH:MM"},
		{"9:00", `{"week":` + day(`{"open":"9:00","close":"18:00"}`, "") + `,"exceptions":[]}`, "week.monday[0].open", "HH:MM"},
		{"24:00 open", `{"week":` + day(`{"open":"24:00","close":"24:00"}`, "") + `,"exceptions":[]}`, "week.monday[0].open", "HH:MM"},
		{"close before open", `{"week":` + day(`{"open":"18:00","close":"09:00"}`, "") + `,"exceptions":[]}`, "week.monday[0].close", "after"},
		{"empty opening", `{"week":` + day(`{"open":"09:00","close":"09:00"}`, "") + `,"exceptions":[]}`, "week.monday[0].close", "after"},
		{"overlap", `{"week":` + day(`{"open":"13:00","close":"18:00"},{"open":"09:00","close":"14:00"}`, "") + `,"exceptions":[]}`, "week.monday[1]", "overlaps week.monday[0]"},
		{"too many openings", `{"week":` + day(many, "") + `,"exceptions":[]}`, "week.monday", "at most"},
		{"never open", `{"week":{"monday":[],"tuesday":[],"wednesday":[],"thursday":[],"friday":[],"saturday":[],"sunday":[]},"exceptions":[]}`, "week", "at least once"},
		{"no exceptions", `{"week":` + week5 + `}`, "exceptions", "required"},
		{"30 February", `{"week":` + week5 + `,"exceptions":[` + ok + `,{"date":"2027-02-30","name":"x","closed":true}]}`, "exceptions[1].date", "real date"},
		{"not a date", `{"week":` + week5 + `,"exceptions":[{"date":"24/12/2027","name":"x","closed":true}]}`, "exceptions[0].date", "YYYY-MM-DD"},
		{"year 0227", `{"week":` + week5 + `,"exceptions":[{"date":"0227-12-24","name":"x","closed":true}]}`, "exceptions[0].date", "2000"},
		{"twice", `{"week":` + week5 + `,"exceptions":[` + ok + `,{"date":"2027-12-25","name":"y","closed":true},` + ok + `]}`, "exceptions[2].date", "exceptions[0]"},
		{"empty name", `{"week":` + week5 + `,"exceptions":[{"date":"2027-12-24","name":"  ","closed":true}]}`, "exceptions[0].name", "required"},
		{"long name", `{"week":` + week5 + `,"exceptions":[{"date":"2027-12-24","name":"` + strings.Repeat("ñ", MaxHolidayName+1) + `","closed":true}]}`, "exceptions[0].name", "at most"},
		{"two-line name", `{"week":` + week5 + `,"exceptions":[{"date":"2027-12-24","name":"a\nb","closed":true}]}`, "exceptions[0].name", "control"},
		{"closed with hours", `{"week":` + week5 + `,"exceptions":[{"date":"2027-12-24","name":"x","closed":true,"hours":[{"open":"09:00","close":"13:00"}]}]}`, "exceptions[0].hours", "absent"},
		{"neither", `{"week":` + week5 + `,"exceptions":[{"date":"2027-12-24","name":"x"}]}`, "exceptions[0].hours", "closed: true"},
		{"bad special hours", `{"week":` + week5 + `,"exceptions":[{"date":"2027-12-24","name":"x","hours":[{"open":"09:00","close":"13:00"},{"open":"12:00","close":"14:00"}]}]}`, "exceptions[0].hours[1]", "overlaps"},
		{"too many exceptions", `{"week":` + week5 + `,"exceptions":[` + strings.Join(tooMany, ",") + `]}`, "exceptions", "at most"},
	}
	for _, tt := range tests {
		cal, err := DefaultCalendar().WithDocument(calendarDoc(t, tt.doc))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Message, tt.says) || cal != nil {
			t.Errorf("%s: error %v (calendar %v); want one on %s saying %q", tt.name, err, cal != nil, tt.field, tt.says)
		}
	}
}

// TestParseTimeOfDay: only HH:MM on a 24-hour clock.
func TestParseTimeOfDay(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]TimeOfDay{"00:00": 0, "09:30": Clock(9, 30), "23:59": Clock(23, 59), "24:00": Clock(24, 0)} {
		if got, err := ParseTimeOfDay(s); err != nil || got != want {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "9:00", "09:0", "9am", "25:00", "24:01", "12:60", "-1:00", "09-00", "09:00:00", "０９:００"} {
		if got, err := ParseTimeOfDay(s); err == nil {
			t.Errorf("ParseTimeOfDay(%q) = %v; want an error", s, got)
		}
	}
}

// TestClosures: a year's closures merge the statutory holidays with the exceptions, in
// date order; an exception on a statutory date takes its place and names it, and
// exceptions of other years are left out.
func TestClosures(t *testing.T) {
	t.Parallel()
	cal, err := DefaultCalendar().WithDocument(calendarDoc(t, `{"week":`+week5+`,"exceptions":[
		{"date":"2027-12-24","name":"Cierre de fin de año","closed":true},
		{"date":"2027-02-01","name":"Abrimos medio día","hours":[{"open":"09:00","close":"13:00"}]},
		{"date":"2028-01-02","name":"Otro año","closed":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := cal.Closures(2027)
	var lines []string
	for _, c := range got {
		lines = append(lines, c.Date.String()+" "+c.Name+" yearly="+map[bool]string{true: "y", false: "n"}[c.Yearly]+" replaces="+c.Replaces)
	}
	want := []string{
		"2027-01-01 Año Nuevo yearly=y replaces=",
		"2027-02-01 Abrimos medio día yearly=n replaces=Día de la Constitución",
		"2027-03-15 Natalicio de Benito Juárez yearly=y replaces=",
		"2027-05-01 Día del Trabajo yearly=y replaces=",
		"2027-09-16 Día de la Independencia yearly=y replaces=",
		"2027-11-15 Día de la Revolución yearly=y replaces=",
		"2027-12-24 Cierre de fin de año yearly=n replaces=",
		"2027-12-25 Navidad yearly=y replaces=",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Closures(2027):\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(got[1].Hours) != 1 || got[1].Hours[0] != (Hours{Clock(9, 0), Clock(13, 0)}) {
		t.Errorf("the half day's hours = %v, want 09:00–13:00", got[1].Hours)
	}
	// The override opens the statutory holiday for the morning.
	if !cal.IsOpen(at(t, mx, "2027-02-01 10:00")) || cal.IsOpen(at(t, mx, "2027-02-01 14:00")) {
		t.Error("1 February 2027 should be open 09:00–13:00 only")
	}
}
