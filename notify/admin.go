package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web/lang"
)

// TemplateHandlers serves the admins' template editor API. Its methods have the signature
// of web.HandlerFunc (errors are domain errors for web.WriteError); mount them with
// web.Server.Handle, for admins only:
//
//	GET /api/sms/templates                 → 200 {"templates":[Template...]}
//	GET /api/sms/templates/{kind}/{lang}   → 200 Template
//	PUT /api/sms/templates/{kind}/{lang}   {"body"} → 200 Template; 422 when it does not
//	                                         parse or render with sample data; "" restores the default
type TemplateHandlers struct {
	Store *Templates
	// ActorID returns the signed-in user's id for the audit column, e.g.
	// func(ctx) int64 { if u := web.Actor(ctx); u != nil { return u.ID }; return 0 }.
	ActorID func(ctx context.Context) int64
}

// List answers every template with its sample rendering and segment count.
func (h TemplateHandlers) List(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.Store.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": ts})
	return nil
}

// Get answers one template.
func (h TemplateHandlers) Get(w http.ResponseWriter, r *http.Request) error {
	t, err := h.Store.Get(r.Context(), Kind(r.PathValue("kind")), r.PathValue("lang"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// Put replaces one template after checking it.
func (h TemplateHandlers) Put(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Body *string `json:"body"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Body == nil {
		return dispatch.Invalid("body", "body is required (an empty string restores the default)")
	}
	var by int64
	if h.ActorID != nil {
		by = h.ActorID(r.Context())
	}
	t, err := h.Store.Put(r.Context(), Kind(r.PathValue("kind")), r.PathValue("lang"), *in.Body, by)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object of at most 64 KiB: 413 beyond, 400 when malformed, 422
// naming the field when a value has the wrong type (the contract's rules, as web.DecodeJSON).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &dispatch.Error{Kind: dispatch.KindMalformed, Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	err := dec.Decode(v)
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return dispatch.Malformed("body must hold exactly one JSON value")
		}
		return nil
	case errors.As(err, &maxErr):
		return &dispatch.Error{Kind: dispatch.KindTooLarge, Code: "body_too_large", Message: "body is larger than 64 KiB"}
	case errors.Is(err, io.EOF):
		return dispatch.Malformed("body is empty; a JSON object is expected")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return dispatch.Invalid(typeErr.Field, "has the wrong type")
	}
	return dispatch.Malformed("malformed JSON: %v", err)
}

var devPage = template.Must(template.New("dev").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.T.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{{.Style}}</style></head>
<body><p class="lang"><a href="?lang={{.T.Other}}" lang="{{.T.Other}}">{{.T.OtherName}}</a></p><h1>{{.T.Heading}}</h1>
<p class="muted">{{if .Dev}}{{.T.DevNote}}{{else}}{{.T.LiveNote}}{{end}} {{.T.Latest}} {{len .Rows}}.</p>
<table><thead><tr><th>#</th><th>{{.T.Queued}} ({{.Zone}})</th><th>{{.T.To}}</th><th>{{.T.Kind}}</th><th>{{.T.State}}</th><th>{{.T.Status}}</th><th>{{.T.Segments}}</th><th>{{.T.Text}}</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.ID}}</td><td>{{.CreatedAt.Format "2006-01-02 15:04:05"}}</td><td>{{.To}}</td><td>{{.Kind}}</td>
<td>{{.State}}{{if .LastError}}<br><span class="muted">{{.LastError}}</span>{{end}}</td><td>{{.Status}} {{.Sender}}</td><td>{{.Segments}}</td><td class="body">{{.Body}}</td></tr>
{{else}}<tr><td colspan="8" class="muted">{{.T.Empty}}</td></tr>{{end}}
</tbody></table></body></html>`))

// devText is the development outbox's wording in one language.
type devText struct {
	Title, Heading, DevNote, LiveNote, Latest, Empty string
	Queued, To, Kind, State, Status, Segments, Text  string
	Other                                            lang.Code // the language the switch link offers
	OtherName                                        string
}

// devTexts holds the development outbox in the pages' languages; the page picks one as
// every other page does (lang.Pick), so Spanish unless the visitor chose English.
var devTexts = map[lang.Code]devText{
	lang.ES: {Title: "SMS (desarrollo)", Heading: "Bandeja de SMS",
		DevNote:  "Modo de desarrollo: sin credenciales de Twilio; estos mensajes no se enviaron a nadie.",
		LiveNote: "Mensajes en cola para Twilio.", Latest: "Últimos:", Empty: "Aún no hay mensajes en cola.",
		Queued: "en cola", To: "para", Kind: "tipo", State: "estado", Status: "estatus", Segments: "segmentos", Text: "texto",
		Other: lang.EN, OtherName: "English"},
	lang.EN: {Title: "SMS (development)", Heading: "SMS outbox",
		DevNote:  "Development mode: no Twilio credentials; these texts were not sent to anyone.",
		LiveNote: "Texts queued for Twilio.", Latest: "Latest:", Empty: "Nothing queued yet.",
		Queued: "queued", To: "to", Kind: "kind", State: "state", Status: "status", Segments: "segments", Text: "text",
		Other: lang.ES, OtherName: "Español"},
}

// devStyle is the development outbox's style sheet, inline; the page's Content-Security-
// Policy admits exactly this text by its hash (devStyleCSP), not inline styles in general.
const devStyle = `body{font:14px system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;width:100%}` +
	`td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}` +
	`td.body{white-space:pre-wrap;max-width:40rem}.muted{color:#777}`

var devStyleCSP = func() string {
	sum := sha256.Sum256([]byte(devStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

// DevPage serves the development outbox: the latest texts the system queued, as a small
// HTML page (mount at GET /dev/sms; for staff, or for anyone in development mode).
func DevPage(db bun.IDB, cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rows []struct {
			ID        int64     `bun:"id"`
			CreatedAt time.Time `bun:"created_at"`
			To        string    `bun:"to_phone"`
			Kind      string    `bun:"kind"`
			State     string    `bun:"state"`
			Status    string    `bun:"status,nullzero"`
			Sender    string    `bun:"sender,nullzero"`
			LastError string    `bun:"last_error,nullzero"`
			Body      string    `bun:"body"`
			Segments  int       `bun:"-"`
		}
		err := db.NewSelect().Table("sms_outbox").
			Column("id", "created_at", "to_phone", "kind", "state", "status", "sender", "last_error", "body").
			OrderExpr("id DESC").Limit(200).Scan(r.Context(), &rows)
		if err != nil {
			code := http.StatusInternalServerError
			if dispatch.ErrorKind(postgres.Wrap(err)) == dispatch.KindUnavailable {
				code = http.StatusServiceUnavailable
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
		loc := cfg.Location
		if loc == nil {
			loc = time.UTC // as NewOutbox: a Config built by hand, not from the environment
		}
		for i := range rows {
			_, rows[i].Segments = Segments(rows[i].Body)
			rows[i].CreatedAt = rows[i].CreatedAt.In(loc)
		}
		l := lang.Pick(w, r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Language", string(l))
		w.Header().Set("Content-Security-Policy", devStyleCSP)
		_ = devPage.Execute(w, map[string]any{"Dev": cfg.Dev(), "Rows": rows, "Style": template.CSS(devStyle),
			"Lang": l, "T": devTexts[l], "Zone": loc.String()})
	})
}
