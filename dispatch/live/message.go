package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"despacho/dispatch"
)

// Message is what the hub sends to a client, one per websocket text frame.
//
// Event messages carry ID (the event's position in the live sequence: increasing, and the
// value to pass as `after` when reconnecting), the event type, its time and its data plus
// references (event_id, report_id, visit_id, technician_id, incident_id, folio when known),
// who acted (actor, and actor_name: the name of the user who did, when one did) and the
// channel. The customer's status page gets only the public keys (Options.PublicKeys):
// never who acted.
// Control messages have no ID: "reload" (the client is too far behind: reload the page, then
// reconnect without after), "error" (a client message was refused; data holds code, message
// and field) and "subscribed" (data echoes the filter now in force).
type Message struct {
	ID   int64           `json:"id,omitempty"`
	Type string          `json:"type"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Control message types.
const (
	TypeReload     = "reload"
	TypeError      = "error"
	TypeSubscribed = "subscribed"
)

// ClientMessage is what a client may send. Exactly one field is set.
type ClientMessage struct {
	// Subscribe narrows what a staff client receives from now on; an empty subscription
	// means everything the caller may see. Technicians and customers cannot widen their view.
	Subscribe *Subscription `json:"subscribe,omitempty"`
}

// Subscription filters the live stream. Lists are alternatives (OR); filled lists combine
// with AND.
type Subscription struct {
	// TechnicianIDs keeps events about these technicians.
	TechnicianIDs []int64 `json:"technician_ids,omitempty"`
	// ReportIDs keeps events about these reports.
	ReportIDs []int64 `json:"report_ids,omitempty"`
	// Types keeps events whose type equals an entry or, for entries ending in ".", starts
	// with it ("visit." keeps every visit event).
	Types []string `json:"types,omitempty"`
}

// Limits of a client message, so that one client cannot make the hub do much work.
const (
	maxFilterIDs   = 1000
	maxFilterTypes = 50
	maxTypeLen     = 64
)

// ParseClientMessage decodes and validates one client message: a JSON object with one known
// field and nothing after it. Errors are dispatch errors (Malformed or Invalid with the
// field) fit to send back to the client.
func ParseClientMessage(b []byte) (ClientMessage, error) {
	var m ClientMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return ClientMessage{}, dispatch.Malformed("empty message; a JSON object is expected")
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return ClientMessage{}, dispatch.Invalid(typeErr.Field, "has the wrong JSON type")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return ClientMessage{}, dispatch.Malformed("unknown message: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return ClientMessage{}, dispatch.Malformed("message is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ClientMessage{}, dispatch.Malformed("message must hold exactly one JSON value")
	}
	if m.Subscribe == nil {
		return ClientMessage{}, dispatch.Malformed(`unknown message; expected {"subscribe": {...}}`)
	}
	m.Subscribe.normalize()
	if err := m.Subscribe.validate(); err != nil {
		return ClientMessage{}, err
	}
	return m, nil
}

// normalize makes empty lists nil: "no filter" has one representation.
func (s *Subscription) normalize() {
	if len(s.TechnicianIDs) == 0 {
		s.TechnicianIDs = nil
	}
	if len(s.ReportIDs) == 0 {
		s.ReportIDs = nil
	}
	if len(s.Types) == 0 {
		s.Types = nil
	}
}

func (s *Subscription) validate() error {
	if len(s.TechnicianIDs) > maxFilterIDs {
		return dispatch.Invalid("subscribe.technician_ids", "at most %d ids", maxFilterIDs)
	}
	if len(s.ReportIDs) > maxFilterIDs {
		return dispatch.Invalid("subscribe.report_ids", "at most %d ids", maxFilterIDs)
	}
	for _, id := range s.TechnicianIDs {
		if id <= 0 {
			return dispatch.Invalid("subscribe.technician_ids", "ids are positive")
		}
	}
	for _, id := range s.ReportIDs {
		if id <= 0 {
			return dispatch.Invalid("subscribe.report_ids", "ids are positive")
		}
	}
	if len(s.Types) > maxFilterTypes {
		return dispatch.Invalid("subscribe.types", "at most %d types", maxFilterTypes)
	}
	for _, t := range s.Types {
		if t == "" || len(t) > maxTypeLen || strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789_.") != "" {
			return dispatch.Invalid("subscribe.types", "types are lower-case words joined by dots")
		}
	}
	return nil
}

// matches reports whether an event passes the subscription.
func (s *Subscription) matches(ev *dispatch.Event) bool {
	if s == nil {
		return true
	}
	if len(s.TechnicianIDs) > 0 && !contains(s.TechnicianIDs, ev.TechnicianID) {
		return false
	}
	if len(s.ReportIDs) > 0 && !contains(s.ReportIDs, ev.ReportID) {
		return false
	}
	if len(s.Types) > 0 && !typeMatches(s.Types, ev.Type) {
		return false
	}
	return true
}

func contains(ids []int64, id int64) bool {
	if id == 0 {
		return false
	}
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func typeMatches(patterns []string, typ string) bool {
	for _, p := range patterns {
		if p == typ || (strings.HasSuffix(p, ".") && strings.HasPrefix(typ, p)) {
			return true
		}
	}
	return false
}

// viewer is who is at the other end of a connection, which bounds what it may see.
type viewer struct {
	staff        bool  // admin, dispatcher, agent: everything
	technicianID int64 // a technician: events about him only
	reportID     int64 // the public status page: one report only
	userID       int64 // the signed-in user (staff and technicians), rechecked while connected
}

// item is one sequenced event, encoded once for all the clients that receive it.
type item struct {
	seq   int64
	ev    dispatch.Event
	folio string
	// actorName is the name of the user who acted (Event.ActorUserID), "" when none did.
	actorName string
	full      []byte // for staff and technicians
	public    []byte // for the customer's status page; nil until needed
	// account is the user a "user.updated" event names (0 for other events): his open
	// connections are rechecked at once.
	account int64
}

// sees reports whether v may receive the event, before any subscription.
func (h *Hub) sees(v viewer, ev *dispatch.Event) bool {
	switch {
	case v.staff:
		return true
	case v.technicianID != 0:
		return ev.TechnicianID == v.technicianID
	case v.reportID != 0:
		return ev.ReportID == v.reportID && typeMatches(h.opts.PublicTypes, ev.Type)
	}
	return false
}

// payload returns the encoded message for v.
func (h *Hub) payload(v viewer, it *item) []byte {
	if v.reportID != 0 {
		if it.public == nil {
			it.public = encodeEvent(it, h.publicKeys)
		}
		return it.public
	}
	return it.full
}

// encodeEvent builds the message of an event: its data object plus its references. With
// keep non-nil, only those data keys survive (what a customer may read).
func encodeEvent(it *item, keep map[string]bool) []byte {
	ev := &it.ev
	var data map[string]json.RawMessage
	if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &data) != nil {
		data = map[string]json.RawMessage{"value": ev.Data} // an array or a scalar
	}
	if data == nil { // no data, or JSON null
		data = map[string]json.RawMessage{}
	}
	ref := func(k string, v int64) {
		if v != 0 {
			data[k] = json.RawMessage(itoa(v))
		}
	}
	ref("report_id", ev.ReportID)
	if keep == nil {
		ref("event_id", ev.ID)
		ref("visit_id", ev.VisitID)
		ref("technician_id", ev.TechnicianID)
		ref("incident_id", ev.IncidentID)
		if ev.Actor != "" {
			data["actor"], _ = json.Marshal(ev.Actor)
		}
		if it.actorName != "" {
			data["actor_name"], _ = json.Marshal(it.actorName)
		}
		if ev.Channel != "" {
			data["channel"], _ = json.Marshal(ev.Channel)
		}
	}
	if it.folio != "" {
		data["folio"], _ = json.Marshal(it.folio)
	}
	if keep != nil {
		for k := range data {
			if !keep[k] {
				delete(data, k)
			}
		}
	}
	raw, _ := json.Marshal(data)
	b, _ := json.Marshal(Message{ID: it.seq, Type: ev.Type, At: ev.At.UTC(), Data: raw})
	return b
}

// control encodes a message without an id.
func control(typ string, at time.Time, data any) []byte {
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	b, _ := json.Marshal(Message{Type: typ, At: at.UTC(), Data: raw})
	return b
}

// errorData is the data of an "error" message: the contract's error fields.
func errorData(err error) map[string]string {
	var de *dispatch.Error
	if !errors.As(err, &de) {
		return map[string]string{"code": "internal", "message": "internal error"}
	}
	d := map[string]string{"code": de.Code, "message": de.Message}
	if de.Field != "" {
		d["field"] = de.Field
	}
	return d
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
