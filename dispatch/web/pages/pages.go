package pages

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"despacho/dispatch"
	"despacho/dispatch/web/lang"
)

//go:embed templates
var templateFS embed.FS

// Config holds what the pages depend on.
type Config struct {
	// Actor returns the signed-in user of a request, or nil for an anonymous visitor.
	Actor func(context.Context) *dispatch.User
	// Zone is the IANA name of the business time zone, in which pages show times; empty
	// means America/Mexico_City.
	Zone string
	// TechnicianOf returns the technician record linked to a technician's user account; a
	// dispatch NotFound error means none. Nil: the route page says no record is linked.
	TechnicianOf func(ctx context.Context, userID int64) (int64, error)
	Log          *slog.Logger
	// SupportPhone is the provider's phone for customers (E.164), shown at the foot of the
	// customers' pages (report form, folio status, booking), whose texts say "call us" where
	// nothing can be done online; empty shows none.
	SupportPhone string
}

// Site serves the pages and their static files.
type Site struct {
	cfg    Config
	assets *assets
	pages  map[string]*template.Template
}

// pageNames lists the templates under templates/, each rendered inside layout.html.
var pageNames = []string{"login", "report", "status", "booking", "board", "desk", "tech", "admin", "message"}

// New parses the embedded templates and loads the static files; it fails only when the
// embedded files are broken, which the package's tests catch.
func New(cfg Config) (*Site, error) {
	if cfg.Actor == nil {
		cfg.Actor = func(context.Context) *dispatch.User { return nil }
	}
	if cfg.Zone == "" {
		cfg.Zone = "America/Mexico_City"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	s := &Site{cfg: cfg, assets: a, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			if a.files[name] == nil {
				return "", fmt.Errorf("no static file %q", name)
			}
			return a.url(name), nil
		},
		// modules lists what the module name imports, at every depth: the layout preloads
		// them with the page's script.
		"modules": func(name string) ([]string, error) {
			if a.files[name] == nil {
				return nil, fmt.Errorf("no static file %q", name)
			}
			return a.modules(name), nil
		},
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	for _, name := range pageNames {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

// StaticVersion is the hash that prefixes static URLs: /static/VERSION/js/core.js.
func (s *Site) StaticVersion() string { return s.assets.version }

// Static serves GET /static/{version}/{path...}.
func (s *Site) Static() http.Handler { return s.assets }

// view is what every template receives.
type view struct {
	Lang   Lang
	Title  string // catalog key of the page title
	Script string // the page's module under static/js/, without .js
	Body   string // class of <body>
	User   *dispatch.User
	Zone   string
	I18N   string // the scripts' strings, JSON
	// SwitchURL is this page in the other language.
	SwitchURL string
	Data      map[string]any
	// Support is the provider's phone for customers (E.164), "" when none; shown to
	// visitors who are not signed in.
	Support string
}

// SupportDisplay is Support as it is dialled.
func (v *view) SupportDisplay() string { return dispatch.DisplayPhone(v.Support) }

// T returns the text of key in the page's language.
func (v *view) T(key string) string { return T(v.Lang, key) }

// Other is the language the switch link leads to.
func (v *view) Other() Lang {
	if v.Lang == EN {
		return ES
	}
	return EN
}

// Can reports whether the signed-in user has one of the roles (admins have them all).
func (v *view) Can(roles ...string) bool {
	if v.User == nil {
		return false
	}
	return v.User.Role == dispatch.RoleAdmin || slices.Contains(roles, string(v.User.Role))
}

func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name, title, script string, data map[string]any) {
	l := lang.Pick(w, r)
	cat, _ := json.Marshal(jsCatalog(l, script))
	q := r.URL.Query()
	q.Set("lang", string(otherLang(l)))
	v := &view{
		Lang: l, Title: title, Script: script, Body: "page-" + name,
		User: s.cfg.Actor(r.Context()), Zone: s.cfg.Zone, I18N: string(cat),
		SwitchURL: r.URL.Path + "?" + q.Encode(), Data: data, Support: s.cfg.SupportPhone,
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(l))
	h.Set("Vary", "Cookie, Accept-Language, Accept-Encoding")
	body := buf.Bytes()
	// Compressed, as the static files are: most of a page is the scripts' strings, and the
	// technician's page, fetched over 3G, goes from 30.7 KB to 10.3 KB. A page holds no
	// secret (the session is a cookie, writes are checked by origin), so reflecting the
	// query in a compressed answer gives nothing away.
	if len(body) > 1024 && acceptsGzip(r) {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		h.Set("Content-Encoding", "gzip")
		body = z.Bytes()
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func otherLang(l Lang) Lang {
	if l == EN {
		return ES
	}
	return EN
}

// staff wraps a page for signed-in staff: an anonymous browser is sent to the sign-in page
// with the way back in next; a user with another role gets a page saying so (403).
func (s *Site) staff(h http.HandlerFunc, roles ...dispatch.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := s.cfg.Actor(r.Context())
		if u == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if u.Role != dispatch.RoleAdmin && !slices.Contains(roles, u.Role) {
			s.render(w, r, http.StatusForbidden, "message", "page.forbidden", "core", map[string]any{"Message": "page.forbidden"})
			return
		}
		h(w, r)
	})
}

// Home sends a visitor to the page for them: staff to their work page, anyone else to the
// report form.
func (s *Site) Home() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, homeOf(s.cfg.Actor(r.Context())), http.StatusSeeOther)
	})
}

func homeOf(u *dispatch.User) string {
	if u == nil {
		return "/reporte"
	}
	switch u.Role {
	case dispatch.RoleTechnician:
		return "/tech"
	case dispatch.RoleAgent:
		return "/desk"
	}
	return "/board"
}

// safeNext returns next when it is a path on this site, else "".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 2000 {
		return ""
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return next
}

// Login serves the sign-in page; the script posts to /api/login and goes to next.
func (s *Site) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "login", "page.login.title", "login", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
	})
}

// Report serves the public report form.
func (s *Site) Report() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "report", "page.report.title", "report", map[string]any{"Kinds": kinds})
	})
}

// kinds are the report kinds in the order customers see them.
var kinds = []string{"fault", "complaint", "inquiry", "clarification", "suggestion", "cancellation", "other"}

// Status serves the customer's status page (/estado and /estado/{folio}); the folio's
// access code comes in ?code= and the script asks the API with it.
func (s *Site) Status() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		folio := r.PathValue("folio")
		if len(folio) > 40 {
			folio = ""
		}
		s.render(w, r, http.StatusOK, "status", "page.status.title", "status", map[string]any{"Folio": folio})
	})
}

// Booking serves the page where a customer picks another arrival window (the SMS link).
func (s *Site) Booking() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		folio := r.PathValue("folio")
		if len(folio) > 40 {
			folio = ""
		}
		s.render(w, r, http.StatusOK, "booking", "page.booking.title", "booking", map[string]any{"Folio": folio})
	})
}

// Board serves the dispatcher's board.
func (s *Site) Board() http.Handler {
	return s.staff(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "board", "page.board.title", "board", map[string]any{"Day": r.URL.Query().Get("day")})
	}, dispatch.RoleDispatcher, dispatch.RoleAgent)
}

// Desk serves the agents' page: new reports taken by phone, e-mail or in person, folio
// look-up, visits and booking.
func (s *Site) Desk() http.Handler {
	return s.staff(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "desk", "page.desk.title", "desk", map[string]any{"Kinds": kinds, "Channels": channels})
	}, dispatch.RoleAgent, dispatch.RoleDispatcher)
}

var channels = []string{"phone", "email", "in_person", "web", "sms"}

// Tech serves the technician's route for today.
func (s *Site) Tech() http.Handler {
	return s.staff(func(w http.ResponseWriter, r *http.Request) {
		var id int64
		var err error = dispatch.NotFound("technician")
		if s.cfg.TechnicianOf != nil {
			id, err = s.cfg.TechnicianOf(r.Context(), s.cfg.Actor(r.Context()).ID)
		}
		if err != nil {
			status := http.StatusNotFound
			if dispatch.ErrorKind(err) != dispatch.KindNotFound {
				s.cfg.Log.ErrorContext(r.Context(), "technician of user", "err", err)
				status = http.StatusServiceUnavailable
			}
			s.render(w, r, status, "message", "page.tech.title", "core", map[string]any{"Message": "page.tech.none"})
			return
		}
		s.render(w, r, http.StatusOK, "tech", "page.tech.title", "tech", map[string]any{"Reasons": dispatch.NotCompletedReasons, "Tech": id, "Causes": causes})
	}, dispatch.RoleTechnician)
}

// Admin serves the administrators' page: users and roles, technicians (skills, shifts,
// time off), SLA policies and SMS templates. Other roles get a page saying they may not.
func (s *Site) Admin() http.Handler {
	return s.staff(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "admin", "page.admin.title", "admin", map[string]any{"Roles": roles})
	})
}

// causes is the catalog of fault causes the completion form offers (catalog keys
// "page.cause.<key>"): picking one writes its text, in the page's language, into the
// cause the customer is told, which the technician may then complete.
var causes = []string{"drop_cut", "connector", "ont", "router", "power", "antenna", "wiring", "area_network", "no_fault"}

// roles are the staff roles in the order the admin page lists them.
var roles = []string{"agent", "dispatcher", "technician", "admin"}

func itoa(n int) string { return strconv.Itoa(n) }
