package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestRebookOnlineSMSAndPageAgree: the answer to "2" (another time) links the folio's
// booking page exactly when that page takes the visit, since both ask
// postgres.RebookableOnline. Each case is put to the real `serve` (the Twilio inbound
// webhook signed as the fake Twilio signs it, and the public slots, book and status
// endpoints) and the two answers must be the same, and the expected one; where the page
// takes the visit, it books an offered window for real.
//
// The case "not_completed after a visit booked again" disagreed before: the text linked
// the page (its latest visit could not be completed), whose slots listed windows and whose
// booking then refused them all (409 open_visit: the older visit, booked again by staff,
// is open).
func TestRebookOnlineSMSAndPageAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := dispatchtest.DBWithURL(t)
	fake := twiliotest.New()
	t.Cleanup(fake.Close)
	stop, base, err := serveInProcess(ctx, dsn, fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	events := postgres.NewEvents()
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	mexico, _ := time.LoadLocation("America/Mexico_City")
	visits := postgres.NewVisits(db, events, reports, planning.Config{Zone: mexico})
	incidents, err := postgres.NewIncidents(db, events, postgres.IncidentsConfig{Reports: reports})
	if err != nil {
		t.Fatal(err)
	}
	var shifts []dispatch.WeeklyShift
	for d := range 7 {
		shifts = append(shifts, dispatch.WeeklyShift{Weekday: d, Start: "07:00", End: "20:00"})
	}
	tech := &dispatch.Technician{Name: "Juan Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"},
		Home: dispatch.LatLon{Lat: 19.43, Lon: -99.13}, Shifts: shifts}
	if err := postgres.NewTechnicians(db, events).Create(ctx, tech, nil); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now()
	// Windows set by hand lie beyond the page's 14 days, so that they take nothing from
	// the windows the page offers the other cases.
	far := now.Add(30 * 24 * time.Hour).Truncate(time.Hour)

	// world is one customer's report, with its access code and its visits by name.
	type world struct {
		phone, folio, code string
		report             int64
		visit              map[string]int64
	}
	n := 0
	newWorld := func(t *testing.T) *world {
		t.Helper()
		n++
		w := &world{phone: fmt.Sprintf("+5255%08d", 31000000+n), visit: map[string]int64{}}
		in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: w.phone, AccessPoint: fmt.Sprintf("TORRE-R%d", n)}}
		nr, err := in.Validate(now)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.folio, w.code, w.report = c.Report.Folio, c.AccessCode, c.Report.ID
		return w
	}
	// add gives w a visit named name in status st (booked and assigned ones with a window
	// far away; assigned and later ones with the technician).
	add := func(t *testing.T, w *world, name string, st dispatch.VisitStatus) {
		t.Helper()
		lat, lon := 19.40, -99.16
		v, err := visits.Create(ctx, w.folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		w.visit[name] = v.ID
		switch st {
		case dispatch.VisitUnscheduled:
		case dispatch.VisitBooked:
			exec("UPDATE visits SET status = ?, window_start = ?, window_end = ? WHERE id = ?", st, far, far.Add(2*time.Hour), v.ID)
		default:
			exec("UPDATE visits SET status = ?, window_start = ?, window_end = ?, technician_id = ? WHERE id = ?", st, far, far.Add(2*time.Hour), tech.ID, v.ID)
		}
	}
	// toldOf records that the last text w's customer got was about visit id, as a
	// booking's text is: his "2" answers it.
	toldOf := func(w *world, id int64) {
		exec(`INSERT INTO sms_outbox (dedupe_key, kind, report_id, visit_id, to_phone, language, body, state, send_after, sent_at)
			VALUES (?, ?, ?, ?, ?, 'es', 'x', 'sent', now() - interval '1 minute', now())`,
			fmt.Sprintf("rebook-test:%d", id), notify.KindBooked, w.report, id, w.phone)
	}

	cases := []struct {
		name  string
		setup func(t *testing.T, w *world)
		want  string // "" when the page takes the visit; the page's 409 code otherwise
	}{
		{"unscheduled", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitUnscheduled) }, ""},
		{"booked", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitBooked) }, ""},
		{"assigned", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitAssigned) }, ""},
		{"not_completed", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitNotCompleted) }, ""},
		{"en_route", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitEnRoute) }, "illegal_transition"},
		{"on_site", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitOnSite) }, "illegal_transition"},
		{"completed", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitCompleted) }, "illegal_transition"},
		{"held by an open incident", func(t *testing.T, w *world) {
			add(t, w, "v", dispatch.VisitBooked)
			var ap string
			if err := db.QueryRowContext(ctx, "SELECT c.access_point FROM reports r JOIN customers c ON c.id = r.customer_id WHERE r.id = ?", w.report).Scan(&ap); err != nil {
				t.Fatal(err)
			}
			started, est := now.Add(-time.Hour), now.Add(2*time.Hour)
			inc, err := dispatch.IncidentInput{AccessPoint: ap, Title: "Caída de la torre", StartedAt: &started, EstimatedRestoreAt: &est}.Validate(now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := incidents.Open(ctx, inc, postgres.Origin{Actor: "system"}); err != nil {
				t.Fatal(err)
			}
			var held bool
			if err := db.QueryRowContext(ctx, "SELECT held_by_incident_id IS NOT NULL FROM visits WHERE id = ?", w.visit["v"]).Scan(&held); err != nil || !held {
				t.Fatalf("the incident holds the visit: %v, %v; want true", held, err)
			}
		}, "held_by_incident"},
		{"cancelled latest, older booked", func(t *testing.T, w *world) {
			add(t, w, "v", dispatch.VisitBooked)
			exec("UPDATE visits SET status = 'completed' WHERE id = ?", w.visit["v"]) // out of the one-open index while the next is made
			add(t, w, "newer", dispatch.VisitCancelled)
			exec("UPDATE visits SET status = 'booked' WHERE id = ?", w.visit["v"])
		}, ""},
		{"cancelled latest, older en_route", func(t *testing.T, w *world) {
			add(t, w, "v", dispatch.VisitEnRoute)
			exec("UPDATE visits SET status = 'completed' WHERE id = ?", w.visit["v"])
			add(t, w, "newer", dispatch.VisitCancelled)
			exec("UPDATE visits SET status = 'en_route' WHERE id = ?", w.visit["v"])
		}, "illegal_transition"},
		{"only a cancelled visit", func(t *testing.T, w *world) { add(t, w, "v", dispatch.VisitCancelled) }, "no_visit"},
		{"no visit", func(t *testing.T, w *world) {}, "no_visit"},
		{"not_completed after a visit booked again", func(t *testing.T, w *world) {
			add(t, w, "v", dispatch.VisitNotCompleted)
			add(t, w, "latest", dispatch.VisitNotCompleted)
			exec("UPDATE visits SET status = 'booked' WHERE id = ?", w.visit["v"]) // staff booked the first again
		}, "open_visit"},
	}
	for _, st := range []dispatch.Status{dispatch.StatusOpen, dispatch.StatusInProgress, dispatch.StatusAwaitingVisit, dispatch.StatusWaitingCustomer,
		dispatch.StatusResolved, dispatch.StatusClosed, dispatch.StatusCancelled} {
		want := ""
		if !st.Active() {
			want = "report_closed"
		}
		cases = append(cases, struct {
			name  string
			setup func(t *testing.T, w *world)
			want  string
		}{"report " + string(st), func(t *testing.T, w *world) {
			add(t, w, "v", dispatch.VisitBooked)
			exec("UPDATE reports SET status = ? WHERE id = ?", st, w.report)
		}, want})
	}

	// Cases run one after another: those the page takes book a window of the one
	// technician for real. Each comes from its own loopback address, as customers do, so
	// that the public rate limit (per address) counts each apart.
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			c.setup(t, w)
			if id, ok := w.visit["v"]; ok {
				toldOf(w, id)
			}
			browser := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
				LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(10+i))}}).DialContext}}

			// The SMS side: the reply to "2" links the page, or not.
			res, err := fake.Post(base+notify.InboundPath, base+notify.InboundPath, fake.InboundParams(twiliotest.NewSID(), w.phone, "+525500000000", "2"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("inbound \"2\" = %d %s", res.StatusCode, b)
			}
			link := base + "/estado/" + url.PathEscape(w.folio)
			smsLinks := strings.Contains(string(b), link)

			// The page side: the slots (and, offered some, the booking) take it, or refuse
			// it with a conflict.
			get := func(path string, into any) (int, string) {
				t.Helper()
				res, err := browser.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				if err := json.Unmarshal(b, into); err != nil {
					t.Fatalf("GET %s = %d %s: %v", path, res.StatusCode, b, err)
				}
				return res.StatusCode, string(b)
			}
			q := "?code=" + url.QueryEscape(w.code)
			var slots struct {
				Slots []dispatch.Span `json:"slots"`
				Code  string          `json:"code"`
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			status, body := get("/public/reports/"+url.PathEscape(w.folio)+"/slots"+q+"&days=14", &slots)
			pageTakes := status == http.StatusOK
			code := slots.Code
			if code == "" {
				code = slots.Error.Code
			}
			switch {
			case pageTakes && len(slots.Slots) == 0:
				t.Fatalf("slots = 200 with none offered; want some in 14 days (%s)", body)
			case pageTakes:
				win, _ := json.Marshal(map[string]time.Time{"start": slots.Slots[0].Start, "end": slots.Slots[0].End})
				res, err := browser.Post(base+"/public/reports/"+url.PathEscape(w.folio)+"/book"+q, "application/json", strings.NewReader(string(win)))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("book an offered window = %d %s; want 200 (the slots offered it)", res.StatusCode, b)
					pageTakes = false
				}
			case status != http.StatusConflict:
				t.Fatalf("slots = %d %s; want 200 or 409", status, body)
			}

			var st struct {
				CanRebook bool `json:"can_rebook"`
			}
			if status, body := get("/public/reports/"+url.PathEscape(w.folio)+q, &st); status != http.StatusOK {
				t.Fatalf("status page = %d %s", status, body)
			}

			if smsLinks != pageTakes {
				t.Errorf("the \"2\" reply links the page: %v; the page takes the visit: %v (slots %d %s; reply %s)", smsLinks, pageTakes, status, code, b)
			}
			if want := c.want == ""; pageTakes != want || (!want && code != c.want) {
				t.Errorf("page takes the visit: %v, code %q; want %v, %q", pageTakes, code, want, c.want)
			}
			// The status page's "choose another time" button follows the rule as it stood
			// before the booking (which leaves a booked visit, still movable).
			if want := c.want == ""; st.CanRebook != want {
				t.Errorf("status page can_rebook = %v; want %v", st.CanRebook, want)
			}
		})
	}
}
