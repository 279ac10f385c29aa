package dispatch

import (
	"encoding/json"
	"time"
)

// Event is one entry of the event log: a change to a report, visit, technician or incident,
// written in the same transaction as the change. It is the report's timeline, the feed of
// live updates and the trigger of customer notifications.
//
// Types are dotted, subject first: "report.created", "report.status_changed",
// "visit.booked", "sms.failed", … Data holds the type's details as a JSON object.
type Event struct {
	ID           int64           `bun:"id,pk,autoincrement" json:"id"`
	Type         string          `bun:"type" json:"type"`
	At           time.Time       `bun:"at" json:"at"`
	ActorUserID  int64           `bun:"actor_user_id,nullzero" json:"actor_user_id,omitempty"`
	Actor        string          `bun:"actor" json:"actor"` // "user:12", "customer", "technician:3", "system", "twilio", "email:vecino@example.mx" (an e-mail threaded from an address not on file)
	Channel      string          `bun:"channel,nullzero" json:"channel,omitempty"`
	ReportID     int64           `bun:"report_id,nullzero" json:"report_id,omitempty"`
	VisitID      int64           `bun:"visit_id,nullzero" json:"visit_id,omitempty"`
	TechnicianID int64           `bun:"technician_id,nullzero" json:"technician_id,omitempty"`
	IncidentID   int64           `bun:"incident_id,nullzero" json:"incident_id,omitempty"`
	Data         json.RawMessage `bun:"data,type:jsonb,nullzero" json:"data,omitempty"`
}

// ActorOf names a staff user as an event actor.
func ActorOf(u *User) (actor string, userID int64) {
	if u == nil {
		return "system", 0
	}
	return "user:" + itoa(u.ID), u.ID
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
