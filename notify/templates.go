package notify

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// Kind names one kind of text sent to customers; each has a template per language.
type Kind string

// The kinds of text: notifications queued from events, and replies to inbound texts.
const (
	KindFolio Kind = "folio" // report.created: folio issued, status link
	// KindFolioIncident is the folio text of a report attached to an open incident as it
	// is filed: the folio, the known outage in the area (incident folio), the estimate.
	KindFolioIncident Kind = "folio_incident"
	KindBooked        Kind = "booked"        // visit.booked: date, window, technician
	KindReminder      Kind = "reminder"      // the day before a booked visit
	KindEnRoute       Kind = "en_route"      // visit.en_route: technician on the way, ETA
	KindETAUpdate     Kind = "eta_update"    // visit.eta_changed beyond the slip threshold
	KindCompleted     Kind = "completed"     // visit.completed / report.resolved: the outcome
	KindNotCompleted  Kind = "not_completed" // visit.not_completed: reason, how to re-book
	KindRescheduled   Kind = "rescheduled"   // visit.rescheduled: the new window
	KindCancelled     Kind = "cancelled"     // visit.cancelled
	// KindTechnician tells that another technician comes in the window the customer was
	// told (visit.rescheduled keeping the window), when no reminder will name him first.
	KindTechnician Kind = "technician"
	// KindUnbooked tells that the window the customer was texted will not be kept: a re-plan
	// found nobody to keep it and the visit went back to booking (visit.unassigned).
	KindUnbooked Kind = "unbooked"
	// KindVisitHeld tells that a visit whose window the customer was texted is put off
	// because an outage in his area holds it (report.attached_to_incident): he will hear
	// when service is back, and of a new time if he still needs one.
	KindVisitHeld Kind = "visit_held"
	// KindWindowMissed apologises for a window the customer was texted that ended with
	// nobody on the way (visit.window_missed) and offers another time ("2").
	KindWindowMissed Kind = "window_missed"

	KindIncident         Kind = "incident"          // report.attached_to_incident: outage in the area, estimate
	KindIncidentEstimate Kind = "incident_estimate" // report.incident_estimate_changed: the new estimate
	KindIncidentRestored Kind = "incident_restored" // report.resolved by an incident: restored, compensation

	// incident.area_notice, to the access point's customers who did not report: no
	// report folio, no compensation, no question about a report they never filed.
	KindIncidentArea         Kind = "incident_area"          // an outage in the area, estimate
	KindIncidentAreaEstimate Kind = "incident_area_estimate" // the new estimate
	KindIncidentAreaRestored Kind = "incident_area_restored" // restored; "2" opens a report

	KindReplyHelp       Kind = "reply_help"       // AYUDA / HELP
	KindReplyConfirmed  Kind = "reply_confirmed"  // 1 / SI / CONFIRMO
	KindReplyNoVisit    Kind = "reply_no_visit"   // 1 or 2 without an upcoming visit: his open report's folio, if any
	KindReplyReschedule Kind = "reply_reschedule" // 2 / CAMBIAR: we will call; the page to pick a window, when it can
	KindReplyStop       Kind = "reply_stop"       // STOP / BAJA
	KindReplyStart      Kind = "reply_start"      // START / ALTA
	KindReplyNote       Kind = "reply_note"       // free text added to the open report
	KindReplyNewReport  Kind = "reply_new_report" // free text from an unknown number
	// KindReplyNewReportIncident answers a text that opened a report attached at once to an
	// open incident: the folio, the known outage in the area, the estimate.
	KindReplyNewReportIncident Kind = "reply_new_report_incident"

	KindReplyStillDown        Kind = "reply_still_down"        // 2 / NO / "sigue sin servicio" to a restore notice: report reopened
	KindReplyRestoreConfirmed Kind = "reply_restore_confirmed" // 1 / SI to a restore notice
)

// Kinds lists every kind in a stable order (the admin page's order).
var Kinds = []Kind{
	KindFolio, KindFolioIncident, KindBooked, KindReminder, KindEnRoute, KindETAUpdate, KindCompleted,
	KindNotCompleted, KindRescheduled, KindTechnician, KindCancelled, KindUnbooked, KindWindowMissed, KindVisitHeld,
	KindIncident, KindIncidentEstimate, KindIncidentRestored, KindIncidentArea, KindIncidentAreaEstimate, KindIncidentAreaRestored,
	KindReplyHelp, KindReplyConfirmed, KindReplyNoVisit, KindReplyReschedule, KindReplyStop,
	KindReplyStart, KindReplyNote, KindReplyNewReport, KindReplyNewReportIncident, KindReplyStillDown, KindReplyRestoreConfirmed,
}

// Languages a customer may choose; the first is the default.
var Languages = []string{"es", "en"}

// Language maps a customer's stored language ("es-MX", "en", "EN-us", "") to a template
// language: English when it starts with "en", Spanish otherwise.
func Language(s string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "en") {
		return "en"
	}
	return "es"
}

func knownKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// defaults are the built-in templates, in proper Spanish: Render passes the text through
// Fit, which drops the accents outside GSM-7 (á, í, ó, ú; é and ñ are GSM-7) in every
// text that is GSM-7 without them, so that all of a customer's texts spell alike (see
// Fit). Every default fits in two segments with sample data (tested).
var defaults = map[string]map[Kind]string{
	"es": {
		KindFolio:         `Recibimos su reporte de {{.KindName}}. Folio: {{.Folio}}. Consulte el estado en {{.StatusURL}}`,
		KindFolioIncident: `Recibimos su reporte de {{.KindName}}. Folio: {{.Folio}}. Es una falla conocida en su zona (incidente {{.Incident}}). {{if .Restore}}Estimamos restablecer el servicio {{.Restore}}.{{else}}Trabajamos para restablecer el servicio lo antes posible.{{end}} Le avisaremos al restablecerse. Estado: {{.StatusURL}}`,
		KindBooked:        `Folio {{.Folio}}: visita técnica agendada el {{.Window}}. Técnico: {{.Technician}}. Responda 1 para confirmar o 2 para cambiar.`,
		KindReminder:      `Recordatorio: mañana {{.Window}} lo visita {{.Technician}} (folio {{.Folio}}). Responda 1 para confirmar o 2 para cambiar.`,
		KindEnRoute:       `{{.Technician}} va en camino, llegada estimada {{.ETA}} (folio {{.Folio}}).`,
		KindETAUpdate:     `Nueva hora estimada de llegada de {{.Technician}}: {{.ETA}} (folio {{.Folio}}). Disculpe la demora.`,
		KindCompleted:     `Folio {{.Folio}} atendido. Causa: {{.Cause}}. Reporte {{.Verdict}}.{{if .Restored}} Su servicio fue restablecido; responda 1 si funciona bien o escriba su comentario.{{else}} Responda si su servicio aún falla.{{end}}`,
		KindNotCompleted:  `No pudimos completar la visita del folio {{.Folio}}: {{.Reason}}. Responda 2 y le llamaremos para reagendar.`,
		KindRescheduled:   `Folio {{.Folio}}: su visita cambió al {{.Window}}. Técnico: {{.Technician}}. Responda 2 si necesita otro horario.`,
		KindTechnician:    `Folio {{.Folio}}: cambio de técnico. Su visita sigue el {{.Window}}; lo atenderá {{.Technician}}.`,
		KindCancelled:     `Folio {{.Folio}}: su visita del {{.Window}} fue cancelada{{if .Reason}} ({{.Reason}}){{end}}.`,
		KindUnbooked:      `Folio {{.Folio}}: no podremos acudir el {{.Window}} como le avisamos. Responda 2 y le llamaremos para acordar otro horario.`,
		KindWindowMissed:  `Folio {{.Folio}}: lamentamos no haber llegado en el horario acordado ({{.Window}}). Responda 2 para elegir otro horario o espere nuestra llamada.`,
		KindVisitHeld:     `Folio {{.Folio}}: su visita del {{.Window}} queda pospuesta por la falla en su zona (folio {{.Incident}}). Le avisaremos al restablecerse el servicio y, si aún necesita la visita, el nuevo horario.`,

		KindIncident:         `Detectamos una falla en su zona (folio {{.Incident}}). {{if .Restore}}Estimamos restablecer el servicio {{.Restore}}.{{else}}Trabajamos para restablecer el servicio lo antes posible.{{end}} Su reporte {{.Folio}} queda ligado.`,
		KindIncidentEstimate: `Falla en su zona (folio {{.Incident}}): ahora estimamos restablecer el servicio {{.Restore}}. Su reporte {{.Folio}} sigue ligado.`,
		KindIncidentRestored: `Servicio restablecido en su zona (folio {{.Incident}}).{{if .Cause}} Causa: {{.Cause}}.{{end}}{{if .Verdict}} Reporte {{.Verdict}}.{{end}}{{if .Compensation}} Por la interrupción se bonificará {{.Compensation}} en su próximo recibo.{{end}} Responda 1 si ya tiene servicio o 2 si sigue sin servicio. Reporte {{.Folio}}.`,

		KindIncidentArea:         `Detectamos una falla en su zona (folio {{.Incident}}). {{if .Restore}}Estimamos restablecer el servicio {{.Restore}}.{{else}}Trabajamos para restablecer el servicio lo antes posible.{{end}} No necesita reportarla.`,
		KindIncidentAreaEstimate: `Falla en su zona (folio {{.Incident}}): ahora estimamos restablecer el servicio {{.Restore}}.`,
		KindIncidentAreaRestored: `Servicio restablecido en su zona (folio {{.Incident}}). Si aún no tiene servicio, responda 2 y abriremos un reporte.`,

		KindReplyHelp:              `Despacho: responda 1 para confirmar su visita, 2 para cambiarla, o escriba su reporte. BAJA para no recibir mensajes.`,
		KindReplyConfirmed:         `Gracias, su visita del folio {{.Folio}} queda confirmada.`,
		KindReplyNoVisit:           `{{if .Folio}}No tiene una visita agendada. Su reporte {{.Folio}} está en atención; le avisaremos por este medio.{{else}}No encontramos una visita ni un reporte abierto a su nombre. Si tiene una falla, descríbala en un mensaje y le daremos un folio.{{end}}`,
		KindReplyReschedule:        `Recibimos su solicitud (folio {{.Folio}}): le llamaremos para acordar otro horario.{{if .BookingURL}} También puede elegirlo en {{.BookingURL}} con el código de acceso del mensaje de su folio.{{end}}`,
		KindReplyStop:              `Ya no recibirá mensajes de Despacho. Envíe ALTA para volver a recibirlos.`,
		KindReplyStart:             `Volverá a recibir mensajes de Despacho. Envíe BAJA para dejar de recibirlos.`,
		KindReplyNote:              `Agregamos su mensaje al folio {{.Folio}}.`,
		KindReplyNewReport:         `Recibimos su reporte. Folio: {{.Folio}}. Consulte el estado en {{.StatusURL}}`,
		KindReplyNewReportIncident: `Recibimos su reporte. Folio: {{.Folio}}. Es una falla conocida en su zona (incidente {{.Incident}}). {{if .Restore}}Estimamos restablecer el servicio {{.Restore}}.{{else}}Trabajamos para restablecer el servicio lo antes posible.{{end}} Le avisaremos al restablecerse. Estado: {{.StatusURL}}`,

		KindReplyStillDown:        `Reabrimos su reporte {{.Folio}} y programaremos una visita técnica.`,
		KindReplyRestoreConfirmed: `Gracias por confirmar que su servicio funciona (folio {{.Folio}}).`,
	},
	"en": {
		KindFolio:         `We received your {{.KindName}} report. Folio: {{.Folio}}. Check its status at {{.StatusURL}}`,
		KindFolioIncident: `We received your {{.KindName}} report. Folio: {{.Folio}}. It is a known outage in your area (incident {{.Incident}}). {{if .Restore}}We expect to restore service by {{.Restore}}.{{else}}We are working to restore service as soon as possible.{{end}} We will text you when it is back. Status: {{.StatusURL}}`,
		KindBooked:        `Folio {{.Folio}}: technician visit booked for {{.Window}}. Technician: {{.Technician}}. Reply 1 to confirm or 2 to change.`,
		KindReminder:      `Reminder: {{.Technician}} visits you tomorrow, {{.Window}} (folio {{.Folio}}). Reply 1 to confirm or 2 to change.`,
		KindEnRoute:       `{{.Technician}} is on the way, estimated arrival {{.ETA}} (folio {{.Folio}}).`,
		KindETAUpdate:     `New estimated arrival for {{.Technician}}: {{.ETA}} (folio {{.Folio}}). Sorry for the delay.`,
		KindCompleted:     `Folio {{.Folio}} resolved. Cause: {{.Cause}}. Report {{.Verdict}}.{{if .Restored}} Your service is restored; reply 1 if it works or write to us.{{else}} Reply if your service still fails.{{end}}`,
		KindNotCompleted:  `We could not complete the visit for folio {{.Folio}}: {{.Reason}}. Reply 2 and we will call you to re-book.`,
		KindRescheduled:   `Folio {{.Folio}}: your visit moved to {{.Window}}. Technician: {{.Technician}}. Reply 2 if you need another time.`,
		KindTechnician:    `Folio {{.Folio}}: new technician. Your visit is still on {{.Window}}; {{.Technician}} will attend to you.`,
		KindCancelled:     `Folio {{.Folio}}: your visit on {{.Window}} was cancelled{{if .Reason}} ({{.Reason}}){{end}}.`,
		KindUnbooked:      `Folio {{.Folio}}: we cannot come on {{.Window}} as we told you. Reply 2 and we will call you to agree on another time.`,
		KindWindowMissed:  `Folio {{.Folio}}: we are sorry we did not arrive in the agreed window ({{.Window}}). Reply 2 to pick another time or wait for our call.`,
		KindVisitHeld:     `Folio {{.Folio}}: your visit on {{.Window}} is put off because of the outage in your area (folio {{.Incident}}). We will text you when service is back and, if you still need the visit, its new time.`,

		KindIncident:         `We detected an outage in your area (folio {{.Incident}}). {{if .Restore}}We expect to restore service by {{.Restore}}.{{else}}We are working to restore service as soon as possible.{{end}} Your report {{.Folio}} is linked to it.`,
		KindIncidentEstimate: `Outage in your area (folio {{.Incident}}): we now expect to restore service by {{.Restore}}. Your report {{.Folio}} remains linked to it.`,
		KindIncidentRestored: `Service restored in your area (folio {{.Incident}}).{{if .Cause}} Cause: {{.Cause}}.{{end}}{{if .Verdict}} Report {{.Verdict}}.{{end}}{{if .Compensation}} For the outage, {{.Compensation}} will be credited on your next bill.{{end}} Reply 1 if your service works or 2 if it still does not. Report {{.Folio}}.`,

		KindIncidentArea:         `We detected an outage in your area (folio {{.Incident}}). {{if .Restore}}We expect to restore service by {{.Restore}}.{{else}}We are working to restore service as soon as possible.{{end}} No need to report it.`,
		KindIncidentAreaEstimate: `Outage in your area (folio {{.Incident}}): we now expect to restore service by {{.Restore}}.`,
		KindIncidentAreaRestored: `Service restored in your area (folio {{.Incident}}). If you still have no service, reply 2 and we will open a report.`,

		KindReplyHelp:              `Despacho: reply 1 to confirm your visit, 2 to change it, or write your report. STOP to opt out.`,
		KindReplyConfirmed:         `Thank you, your visit for folio {{.Folio}} is confirmed.`,
		KindReplyNoVisit:           `{{if .Folio}}You have no visit booked. Your report {{.Folio}} is being attended to; we will text you with any news.{{else}}We found no upcoming visit or open report for you. If you have a fault, describe it in a message and we will give you a folio.{{end}}`,
		KindReplyReschedule:        `We received your request (folio {{.Folio}}): we will call you to agree on another time.{{if .BookingURL}} You can also pick it at {{.BookingURL}} with the access code from your folio text.{{end}}`,
		KindReplyStop:              `You will no longer receive messages from Despacho. Reply START to receive them again.`,
		KindReplyStart:             `You will receive messages from Despacho again. Reply STOP to opt out.`,
		KindReplyNote:              `We added your message to folio {{.Folio}}.`,
		KindReplyNewReport:         `We received your report. Folio: {{.Folio}}. Check its status at {{.StatusURL}}`,
		KindReplyNewReportIncident: `We received your report. Folio: {{.Folio}}. It is a known outage in your area (incident {{.Incident}}). {{if .Restore}}We expect to restore service by {{.Restore}}.{{else}}We are working to restore service as soon as possible.{{end}} We will text you when it is back. Status: {{.StatusURL}}`,

		KindReplyStillDown:        `We reopened your report {{.Folio}} and will schedule a technician visit.`,
		KindReplyRestoreConfirmed: `Thank you for confirming your service works (folio {{.Folio}}).`,
	},
}

// Data is what a template can show. Every field is already formatted in the customer's
// language and the business time zone, so templates hold no logic beyond {{if}}.
type Data struct {
	Folio      string
	KindName   string // "falla", "queja", … / "fault", "complaint", …
	StatusURL  string // PUBLIC_BASE_URL/estado/{folio}, with ?code= in the texts of a report's creation (see linked)
	Window     string // "mar 26 nov, 10:00-12:00"
	Date       string // "mar 26 nov"
	Technician string // first name only
	ETA        string // "10:40"
	Cause      string
	Verdict    string // "procedente" / "improcedente"
	Restored   bool
	Reason     string // why a visit could not be completed or was cancelled

	Incident     string // the incident's folio: "I-2026-000001"
	Title        string // the incident's title, as staff wrote it
	Restore      string // estimated restore time: "mar 26 nov 14:00"; "" when unknown
	Compensation string // bonus for the outage: "$349.00"; "" when none

	// BookingURL is where the customer who asked for another time can pick one himself: his
	// folio's status page (PUBLIC_BASE_URL/estado/{folio}), which asks for the access code
	// his folio text carried and then offers "Elegir otro horario". It cannot carry the
	// code (see linked). "" when the booking page would refuse his visit (an outage holds
	// it, it is under way or done, the report is closed).
	BookingURL string
}

// SampleData is what templates are checked and previewed with.
func SampleData(lang string, loc *time.Location) Data {
	start := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC) // a Tuesday, 10:00 in Mexico City
	f := Formatter{Lang: lang, Loc: loc}
	return Data{
		Folio:      "R-2026-000123",
		KindName:   f.KindName("fault"),
		StatusURL:  "https://despacho.example.mx/estado/R-2026-000123",
		Window:     f.Window(start, start.Add(2*time.Hour)),
		Date:       f.Date(start),
		Technician: FirstName("María Guadalupe Hernández"),
		ETA:        f.Clock(start.Add(40 * time.Minute)),
		Cause:      f.Text("fiber cut at the access point", "corte de fibra en el punto de acceso"),
		Verdict:    f.Verdict("upheld"),
		Restored:   true,
		Reason:     f.Reason("customer_absent"),

		Incident:     "I-2026-000001",
		Title:        f.Text("Fiber cut", "Corte de fibra"),
		Restore:      f.DateTime(start.Add(4 * time.Hour)),
		Compensation: Money("349.00", "MXN"),

		BookingURL: "https://despacho.example.mx/estado/R-2026-000123",
	}
}

// carried says which fields of Data the texts of each kind carry: the reply to STOP has no
// folio, the folio text no window. A field marked "?" is filled only sometimes (an outage
// with no estimate yet, a cancellation with no reason), so a template shows it only inside
// an {{if}} that tests it. A template may name no other field: SampleData fills every field,
// so with it a {{.Window}} in the folio text rendered well, and every customer was then
// texted "visita el ." (CheckKind).
var carried = func() map[Kind]map[string]bool {
	const report = "Folio KindName StatusURL "
	const window = "Window Date Technician "
	spec := map[Kind]string{
		KindFolio:                  report,
		KindFolioIncident:          report + "Incident Title Restore?",
		KindBooked:                 report + window,
		KindReminder:               report + window,
		KindRescheduled:            report + window,
		KindTechnician:             report + window,
		KindEnRoute:                report + "Technician ETA",
		KindETAUpdate:              report + "Technician ETA",
		KindCompleted:              report + "Cause Verdict Restored",
		KindNotCompleted:           report + "Reason",
		KindCancelled:              report + "Window Date Reason?",
		KindUnbooked:               report + "Window Date",
		KindWindowMissed:           report + "Window Date",
		KindVisitHeld:              report + "Window Date Incident",
		KindIncident:               report + "Incident Title Restore?",
		KindIncidentEstimate:       report + "Incident Restore",
		KindIncidentRestored:       report + "Incident Cause? Verdict? Compensation?",
		KindIncidentArea:           "Incident StatusURL Restore?",
		KindIncidentAreaEstimate:   "Incident StatusURL Restore",
		KindIncidentAreaRestored:   "Incident StatusURL",
		KindReplyHelp:              "StatusURL",
		KindReplyConfirmed:         "Folio StatusURL",
		KindReplyNoVisit:           "Folio? StatusURL",
		KindReplyReschedule:        "Folio StatusURL BookingURL?",
		KindReplyStop:              "StatusURL",
		KindReplyStart:             "StatusURL",
		KindReplyNote:              "Folio StatusURL",
		KindReplyNewReport:         "Folio StatusURL",
		KindReplyNewReportIncident: "Folio StatusURL Incident Restore?",
		KindReplyStillDown:         "Folio StatusURL",
		KindReplyRestoreConfirmed:  "Folio StatusURL",
	}
	out := make(map[Kind]map[string]bool, len(spec))
	for k, fs := range spec {
		m := map[string]bool{}
		for _, f := range strings.Fields(fs) {
			name, maybe := strings.CutSuffix(f, "?")
			m[name] = !maybe
		}
		out[k] = m
	}
	return out
}()

// Values returns the fields ({{.Folio}}…) a template of kind may show, in Data's order; those
// that may be empty are to be tested with {{if}} first.
func Values(kind Kind) []string {
	var out []string
	t := reflect.TypeOf(Data{})
	for i := range t.NumField() {
		if _, ok := carried[kind][t.Field(i).Name]; ok {
			out = append(out, t.Field(i).Name)
		}
	}
	return out
}

// SampleFor is SampleData with only the fields the texts of kind carry: what a customer
// would read (the status link with its access code in the texts of a report's creation).
func SampleFor(kind Kind, lang string, loc *time.Location) Data {
	full := SampleData(lang, loc)
	var d Data
	src, dst := reflect.ValueOf(full), reflect.ValueOf(&d).Elem()
	for name := range carried[kind] {
		dst.FieldByName(name).Set(src.FieldByName(name))
	}
	if linked[kind] {
		d.StatusURL += "?code=7KQ4M9XRT2HCP"
	}
	return d
}

// linked are the kinds whose status link carries the report's access code (?code=), which
// opens the status page at once: the texts of a report's creation, the one moment the code
// is known (see postgres.AccessCode; only its hash is stored). The later texts' links could
// not carry it, and the page would ask their customers for a code that those who reported
// by phone, e-mail or SMS never saw written out: their default texts offer replies by SMS
// ("Responda 2…") instead of the page. The answer to that "2" links the page too
// (BookingURL), beside the promised call, saying that the code is in the folio text: the
// customer who asked to move his visit may pick the window there himself.
var linked = map[Kind]bool{KindFolio: true, KindFolioIncident: true, KindReplyNewReport: true, KindReplyNewReportIncident: true}

// fieldsOf reports the first field n shows that the texts of kind do not carry, or one that
// may be empty shown outside an {{if}} that tests it. guarded holds the fields the
// enclosing {{if}}s test. Every branch is walked, not only those sample data takes.
func fieldsOf(kind Kind, n parse.Node, guarded map[string]bool) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := fieldsOf(kind, c, guarded); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return fieldsOf(kind, n.Pipe, guarded)
	case *parse.IfNode:
		// The condition itself may test any field the kind carries.
		tested := map[string]bool{}
		for f := range guarded {
			tested[f] = true
		}
		for _, c := range n.Pipe.Cmds {
			for _, a := range c.Args {
				if f, ok := a.(*parse.FieldNode); ok && len(f.Ident) > 0 {
					tested[f.Ident[0]] = true
				}
			}
		}
		if err := fieldsOf(kind, n.Pipe, tested); err != nil {
			return err
		}
		if err := fieldsOf(kind, n.List, tested); err != nil {
			return err
		}
		return fieldsOf(kind, n.ElseList, guarded)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				if err := fieldsOf(kind, a, guarded); err != nil {
					return err
				}
			}
		}
	case *parse.FieldNode:
		name := n.Ident[0]
		if !reflect.ValueOf(Data{}).FieldByName(name).IsValid() {
			return &fieldError{name, "unknown", kind}
		}
		always, ok := carried[kind][name]
		switch {
		case !ok:
			return &fieldError{name, "not carried", kind}
		case !always && !guarded[name]:
			return &fieldError{name, "unguarded", kind}
		}
	}
	return nil
}

type fieldError struct {
	name, why string
	kind      Kind
}

func (e *fieldError) Error() string {
	switch e.why {
	case "unknown":
		return fmt.Sprintf("can't evaluate field %s: no such value", e.name)
	case "unguarded":
		return fmt.Sprintf("{{.%s}} may be empty in the %s texts: show it inside {{if .%s}}…{{end}}", e.name, e.kind, e.name)
	}
	return fmt.Sprintf("{{.%s}} is not known when the %s texts are sent: it would show empty; these texts carry %s",
		e.name, e.kind, "{{."+strings.Join(Values(e.kind), "}} {{.")+"}}")
}

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
}

// Parse parses a template body as text/template with the functions templates may use.
// A template may show fields, test them with {{if}}/{{else}} (and, or, not, eq, ne) and
// call upper and lower; nothing else is allowed. A loop ({{range 2000000000}}) or a
// printf with a wide padding would let one template take the server's memory or CPU
// every time a text is rendered, inside the transaction of the change that caused it.
func Parse(name, body string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(body)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("{{define}} and {{block}} are %w", errNotAllowed)
	}
	if err := simple(t.Tree.Root); err != nil {
		return nil, err
	}
	return t, nil
}

// errNotAllowed marks a template that parses but uses what templates may not.
var errNotAllowed = errors.New("not allowed in a text template")

// logicFuncs are the built-in functions a template may call besides funcs: what {{if}}
// needs to test fields.
var logicFuncs = map[string]bool{"and": true, "or": true, "not": true, "eq": true, "ne": true}

// simple reports the first construct of n that is neither text, a field, an {{if}} nor an
// allowed function.
func simple(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := simple(c); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.CommentNode, *parse.FieldNode, *parse.StringNode, *parse.BoolNode, *parse.NumberNode, *parse.DotNode:
		return nil
	case *parse.ActionNode:
		return simple(n.Pipe)
	case *parse.IfNode:
		if err := simple(n.Pipe); err != nil {
			return err
		}
		if err := simple(n.List); err != nil {
			return err
		}
		return simple(n.ElseList)
	case *parse.PipeNode:
		if len(n.Decl) > 0 {
			return fmt.Errorf("a variable (%s) is %w", n, errNotAllowed)
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				if err := simple(a); err != nil {
					return err
				}
			}
		}
		return nil
	case *parse.IdentifierNode:
		if funcs[n.Ident] == nil && !logicFuncs[n.Ident] {
			return fmt.Errorf("function %s is %w", n.Ident, errNotAllowed)
		}
		return nil
	}
	what := n.String()
	switch n.(type) {
	case *parse.RangeNode:
		what = "{{range}}"
	case *parse.WithNode:
		what = "{{with}}"
	case *parse.TemplateNode:
		what = "{{template}}"
	case *parse.VariableNode:
		what = "a variable (" + what + ")"
	}
	return fmt.Errorf("%s is %w", what, errNotAllowed)
}

// Render executes body with data and returns the text to send, passed through Fit.
func Render(name, body string, data Data) (string, error) {
	t, err := Parse(name, body)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return "", errors.New("template renders to an empty text")
	}
	return Fit(s), nil
}

// DefaultTemplate returns the built-in template of kind in lang ("es" when lang is
// unknown).
func DefaultTemplate(kind Kind, lang string) string {
	if m, ok := defaults[Language(lang)]; ok {
		return m[kind]
	}
	return defaults["es"][kind]
}

// Template is one kind's template in one language as the admin page shows it.
type Template struct {
	Kind      Kind      `json:"kind"`
	Language  string    `json:"language"`
	Body      string    `json:"body"`
	Default   string    `json:"default"`
	Custom    bool      `json:"custom"` // an admin's override is in force
	Sample    string    `json:"sample"` // Body rendered with SampleFor its kind
	Encoding  Encoding  `json:"encoding"`
	Segments  int       `json:"segments"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Values are the fields ({{.Folio}}…) the texts of this kind carry (see Values).
	Values []string `json:"values"`
	// Lacks names the value an admin's template (saved before templates were checked for
	// it) leaves out, so that the default is sent in its place (see Lacks); "" otherwise.
	Lacks string `json:"lacks,omitempty"`
}

// Templates stores admins' overrides of the default templates.
type Templates struct {
	db  bun.IDB
	loc *time.Location
}

// NewTemplates returns the template store on db; loc is the business time zone used for
// sample renderings.
func NewTemplates(db bun.IDB, loc *time.Location) *Templates {
	if loc == nil {
		loc = time.UTC
	}
	return &Templates{db: db, loc: loc}
}

type templateRow struct {
	bun.BaseModel `bun:"table:sms_templates"`
	Kind          string    `bun:"kind,pk"`
	Language      string    `bun:"language,pk"`
	Body          string    `bun:"body"`
	UpdatedAt     time.Time `bun:"updated_at"`
	UpdatedBy     int64     `bun:"updated_by,nullzero"`
}

// body returns the template in force for kind and lang, read through idb (a transaction
// when called from an event hook).
func body(ctx context.Context, idb bun.IDB, kind Kind, lang string) (string, error) {
	var row templateRow
	err := idb.NewSelect().Model(&row).Where("kind = ? AND language = ?", string(kind), lang).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultTemplate(kind, lang), nil
	}
	if err != nil {
		return "", postgres.Wrap(err)
	}
	if Lacks(kind, row.Body) != "" {
		return DefaultTemplate(kind, lang), nil
	}
	return row.Body, nil
}

// Lacks returns the first value a text of kind exists to tell ("Folio", "Window"…) that
// body never shows, or "" when it shows them all (or does not parse: Render judges that).
// An admin's template saved before the check existed may lack one: the default is sent
// in its place, since a booked text of "Hola" tells nobody his appointment.
func Lacks(kind Kind, body string) string {
	t, err := Parse(string(kind), body)
	if err != nil {
		return ""
	}
	shown := map[string]bool{}
	mentions(t.Tree.Root, shown)
	for _, name := range required[kind] {
		if !shown[name] {
			return name
		}
	}
	return ""
}

// RenderKind renders the template in force for kind and lang with data.
func RenderKind(ctx context.Context, idb bun.IDB, kind Kind, lang string, data Data) (string, error) {
	b, err := body(ctx, idb, kind, lang)
	if err != nil {
		return "", err
	}
	s, err := Render(string(kind), b, data)
	if err != nil {
		// An admin's template that stopped rendering must not block the change that
		// caused the text: fall back to the default.
		return Render(string(kind), DefaultTemplate(kind, lang), data)
	}
	return s, nil
}

// List returns every kind's template in every language, with sample renderings.
func (s *Templates) List(ctx context.Context) ([]Template, error) {
	var rows []templateRow
	if err := s.db.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return nil, postgres.Wrap(err)
	}
	custom := map[string]templateRow{}
	for _, r := range rows {
		custom[r.Kind+"/"+r.Language] = r
	}
	var out []Template
	for _, k := range Kinds {
		for _, l := range Languages {
			out = append(out, s.describe(k, l, custom[string(k)+"/"+l]))
		}
	}
	return out, nil
}

// Get returns one template; NotFound for an unknown kind or language.
func (s *Templates) Get(ctx context.Context, kind Kind, lang string) (Template, error) {
	if err := checkKey(kind, lang); err != nil {
		return Template{}, err
	}
	var row templateRow
	err := s.db.NewSelect().Model(&row).Where("kind = ? AND language = ?", string(kind), lang).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Template{}, postgres.Wrap(err)
	}
	return s.describe(kind, lang, row), nil
}

// Put stores an admin's template for kind and lang after checking that it parses, shows
// only what the texts of kind carry and renders with their sample data (CheckKind; Invalid
// "body" otherwise); an empty body restores the default.
func (s *Templates) Put(ctx context.Context, kind Kind, lang, text string, by int64) (Template, error) {
	if err := checkKey(kind, lang); err != nil {
		return Template{}, err
	}
	if strings.TrimSpace(text) == "" {
		if _, err := s.db.NewDelete().Model((*templateRow)(nil)).Where("kind = ? AND language = ?", string(kind), lang).Exec(ctx); err != nil {
			return Template{}, postgres.Wrap(err)
		}
		return s.describe(kind, lang, templateRow{}), nil
	}
	if err := CheckKind(kind, text, lang, s.loc); err != nil {
		return Template{}, err
	}
	row := templateRow{Kind: string(kind), Language: lang, Body: text, UpdatedAt: time.Now().UTC(), UpdatedBy: by}
	_, err := s.db.NewInsert().Model(&row).
		On("CONFLICT (kind, language) DO UPDATE").
		Set("body = EXCLUDED.body, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by").
		Exec(ctx)
	if err != nil {
		return Template{}, postgres.Wrap(err)
	}
	return s.describe(kind, lang, row), nil
}

// CheckKind is Check for the texts of kind: the template shows only the fields those texts
// carry (in any branch), those that may be empty only inside an {{if}} that tests them, and
// it renders with the sample data of kind.
func CheckKind(kind Kind, text, lang string, loc *time.Location) error {
	if len([]rune(text)) > 1600 {
		return dispatch.Invalid("body", "template is longer than 1600 characters")
	}
	t, err := Parse("body", text)
	if err != nil {
		return Check(text, lang, loc)
	}
	if err := fieldsOf(kind, t.Tree.Root, nil); err != nil {
		return dispatch.Invalid("body", "%v", err)
	}
	if name := Lacks(kind, text); name != "" {
		return dispatch.Invalid("body", "{{.%s}} is missing: the %s text exists to tell the customer it", name, kind)
	}
	return check(text, SampleFor(kind, lang, loc))
}

// required are the values a text of each kind exists to tell, which an admin's template may
// not leave out: a booked text of "Hola" told nobody his appointment, and the outcome must
// say the cause, the verdict and whether service is restored (the service procedure).
var required = map[Kind][]string{
	KindFolio:         {"Folio", "StatusURL"}, // the link carries the access code, never written elsewhere
	KindFolioIncident: {"Folio", "StatusURL"},
	KindBooked:        {"Window"},
	KindReminder:      {"Window"},
	KindRescheduled:   {"Window"},
	KindTechnician:    {"Technician"},
	KindVisitHeld:     {"Window"},
	KindWindowMissed:  {"Window"},
	KindEnRoute:       {"ETA"},
	KindETAUpdate:     {"ETA"},
	KindCompleted:     {"Cause", "Verdict", "Restored"},
	// An outage's outcome, and the bonus the regulator (NOM-184) makes owed: shown when there.
	KindIncidentRestored: {"Cause", "Verdict", "Compensation"},
}

// mentions adds to shown every field n names, in any branch or condition.
func mentions(n parse.Node, shown map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				mentions(c, shown)
			}
		}
	case *parse.ActionNode:
		mentions(n.Pipe, shown)
	case *parse.IfNode:
		mentions(n.Pipe, shown)
		mentions(n.List, shown)
		mentions(n.ElseList, shown)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				for _, a := range c.Args {
					mentions(a, shown)
				}
			}
		}
	case *parse.FieldNode:
		shown[n.Ident[0]] = true
	}
}

// Check reports as Invalid "body" a template that does not parse, does not render with
// sample data, renders empty, or renders beyond Twilio's 1600 characters.
func Check(text, lang string, loc *time.Location) error {
	return check(text, SampleData(lang, loc))
}

func check(text string, sample Data) error {
	if len([]rune(text)) > 1600 {
		return dispatch.Invalid("body", "template is longer than 1600 characters")
	}
	if _, err := Parse("body", text); errors.Is(err, errNotAllowed) {
		return dispatch.Invalid("body", "%v; a template shows fields, tests them with {{if}} (and, or, not, eq, ne) and may call upper and lower", err)
	} else if err != nil {
		return dispatch.Invalid("body", "template does not parse: %v", err)
	}
	out, err := Render("body", text, sample)
	if err != nil {
		return dispatch.Invalid("body", "template does not render with sample data: %v", err)
	}
	if len([]rune(out)) > 1600 {
		return dispatch.Invalid("body", "rendered text is longer than 1600 characters")
	}
	return nil
}

func checkKey(kind Kind, lang string) error {
	if !knownKind(kind) {
		return dispatch.NotFound(fmt.Sprintf("template kind %q", kind))
	}
	if lang != "es" && lang != "en" {
		return dispatch.NotFound(fmt.Sprintf("template language %q", lang))
	}
	return nil
}

func (s *Templates) describe(kind Kind, lang string, row templateRow) Template {
	t := Template{Kind: kind, Language: lang, Default: DefaultTemplate(kind, lang), Body: DefaultTemplate(kind, lang), Values: Values(kind)}
	if row.Body != "" {
		t.Body, t.Custom, t.UpdatedAt = row.Body, true, row.UpdatedAt
		t.Lacks = Lacks(kind, row.Body)
	}
	sent := t.Body
	if t.Lacks != "" {
		sent = t.Default // the sample shows what is sent
	}
	sample, err := Render(string(kind), sent, SampleFor(kind, lang, s.loc))
	if err != nil {
		sample = "(" + err.Error() + ")"
	}
	t.Sample = sample
	t.Encoding, t.Segments = Segments(sample)
	return t
}
