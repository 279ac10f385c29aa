package notify

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // America/Mexico_City whatever the host has
)

// Formatter writes dates, times and domain words in one language and time zone.
type Formatter struct {
	Lang string         // "es" or "en"
	Loc  *time.Location // the business time zone
}

var (
	daysES   = [...]string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"}
	monthsES = [...]string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"}
)

func (f Formatter) local(t time.Time) time.Time {
	if f.Loc == nil {
		return t.UTC()
	}
	return t.In(f.Loc)
}

// Date writes a day: "mar 26 nov" / "Tue Nov 26".
func (f Formatter) Date(t time.Time) string {
	t = f.local(t)
	if f.Lang == "en" {
		return t.Format("Mon Jan 2")
	}
	return fmt.Sprintf("%s %d %s", daysES[t.Weekday()], t.Day(), monthsES[t.Month()-1])
}

// DateTime writes a day and time of day: "mar 26 nov 14:00" / "Tue Nov 26 14:00".
func (f Formatter) DateTime(t time.Time) string { return f.Date(t) + " " + f.Clock(t) }

// Money writes an amount of money for a text: "$349.00" for pesos (the currency texts are
// about), "12.50 USD" otherwise.
func Money(amount, currency string) string {
	amount = strings.TrimSpace(amount)
	if amount == "" {
		return ""
	}
	if currency == "" || strings.EqualFold(currency, "MXN") {
		return "$" + amount
	}
	return amount + " " + currency
}

// Clock writes a time of day on 24 hours: "10:40".
func (f Formatter) Clock(t time.Time) string { return f.local(t).Format("15:04") }

// Window writes an arrival window: "mar 26 nov, 10:00-12:00". A hyphen, not an en dash:
// the en dash is outside GSM-7 and would halve the room in every segment.
func (f Formatter) Window(start, end time.Time) string {
	return f.Date(start) + ", " + f.Clock(start) + "-" + f.Clock(end)
}

// KindName names a report kind in the customer's language.
func (f Formatter) KindName(kind string) string {
	es := map[string]string{
		"fault": "falla", "complaint": "queja", "inquiry": "consulta", "clarification": "aclaración",
		"suggestion": "sugerencia", "cancellation": "cancelación", "other": "trámite",
	}
	en := map[string]string{
		"fault": "fault", "complaint": "complaint", "inquiry": "inquiry", "clarification": "clarification",
		"suggestion": "suggestion", "cancellation": "cancellation", "other": "service request",
	}
	m := es
	if f.Lang == "en" {
		m = en
	}
	if s, ok := m[kind]; ok {
		return s
	}
	return m["other"]
}

// Verdict writes upheld / not_upheld as "procedente" / "improcedente".
func (f Formatter) Verdict(v string) string {
	up := v == "upheld"
	switch {
	case f.Lang == "en" && up:
		return "upheld"
	case f.Lang == "en":
		return "not upheld"
	case up:
		return "procedente"
	}
	return "improcedente"
}

// Reason explains why a visit could not be completed; an unknown code is shown as written.
func (f Formatter) Reason(code string) string {
	if s, ok := f.reason(code); ok {
		return s
	}
	return strings.TrimSpace(code)
}

// CancelReason explains why a visit was cancelled, or is "" (no reason given) when code is
// not one of the reasons written for customers ("customer", "report_cancelled"…). Staff
// cancel with words of their own ("duplicada", "cliente molesto", a ticket number): those
// are a note for the timeline, addressed to colleagues, and reach no customer as written.
func (f Formatter) CancelReason(code string) string {
	s, _ := f.reason(code)
	return s
}

// reason is the customer's wording of a reason code; ok is false for an unknown code.
func (f Formatter) reason(code string) (string, bool) {
	es := map[string]string{
		"customer_absent":  "no encontramos a nadie en el domicilio",
		"no_access":        "no fue posible entrar al domicilio",
		"needs_parts":      "se necesitan refacciones",
		"other":            "un imprevisto",
		"customer":         "a solicitud suya",
		"resolved":         "el reporte ya fue resuelto",
		"report_cancelled": "su reporte fue cancelado",
	}
	en := map[string]string{
		"customer_absent":  "nobody was at the address",
		"no_access":        "we could not get access",
		"needs_parts":      "parts are needed",
		"other":            "an unforeseen problem",
		"customer":         "at your request",
		"resolved":         "the report is already resolved",
		"report_cancelled": "your report was cancelled",
	}
	m := es
	if f.Lang == "en" {
		m = en
	}
	s, ok := m[strings.TrimSpace(code)]
	return s, ok
}

// Text picks the English or the Spanish wording.
func (f Formatter) Text(en, es string) string {
	if f.Lang == "en" {
		return en
	}
	return es
}

// FirstName returns the first word of a full name: customers see only the technician's
// first name.
func FirstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}
