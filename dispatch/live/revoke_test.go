package live_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
)

// TestOpenFeedEndsWithTheRight: a websocket opened by a user who may see the live feed is
// closed (1008) once he may no longer: deactivated, demoted, given a new password, signed
// out, his session expired, or (a technician) unlinked from his technician record. Before,
// the feed was only checked at the upgrade, so a deactivated dispatcher's open board kept
// streaming every report and visit. A change that leaves his view as it was (a new name)
// keeps the feed.
func TestOpenFeedEndsWithTheRight(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ctx := context.Background()
	techs := postgres.NewTechnicians(db, postgres.NewEvents())
	in := startInstance(t, db, live.Options{TechnicianOf: techs.IDByUser, RecheckInterval: 200 * time.Millisecond})
	admins := postgres.NewUserAdmin(db, nil)
	users := postgres.NewUsers(db)
	now := time.Now()

	// closed reads c until the server closes it and returns the close code; events
	// before the close are skipped. 0 means the connection stayed open for limit (and is
	// then unusable).
	closed := func(c *websocket.Conn, limit time.Duration) int {
		deadline := time.Now().Add(limit)
		for time.Now().Before(deadline) {
			_, err := readErr(c, time.Until(deadline))
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				return 0
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		return 0
	}
	// stillStreams appends an event the caller sees and reads it.
	stillStreams := func(c *websocket.Conn, techID int64) {
		t.Helper()
		appendEvents(t, db, dispatch.Event{Type: "visit.note", At: time.Now(), Actor: "system", TechnicianID: techID})
		for {
			m := read(t, c, 20*time.Second)
			if m.Type == "visit.note" {
				return
			}
		}
	}
	role := func(r dispatch.Role) *dispatch.Role { return &r }
	no, hash := false, "x"

	cases := []struct {
		name   string
		role   dispatch.Role
		linked bool // a technician with his technician record
		revoke func(u *dispatch.User, token string, techID int64) error
	}{
		{"deactivated", dispatch.RoleDispatcher, false, func(u *dispatch.User, _ string, _ int64) error {
			_, err := admins.Update(ctx, u.ID, postgres.UserChange{Active: &no}, nil, now)
			return err
		}},
		{"demoted to technician", dispatch.RoleDispatcher, false, func(u *dispatch.User, _ string, _ int64) error {
			_, err := admins.Update(ctx, u.ID, postgres.UserChange{Role: role(dispatch.RoleTechnician)}, nil, now)
			return err
		}},
		{"new password", dispatch.RoleAgent, false, func(u *dispatch.User, _ string, _ int64) error {
			_, err := admins.Update(ctx, u.ID, postgres.UserChange{PasswordHash: &hash}, nil, now)
			return err
		}},
		{"signed out", dispatch.RoleAdmin, false, func(_ *dispatch.User, token string, _ int64) error {
			return users.DeleteSession(ctx, token)
		}},
		{"session expired", dispatch.RoleDispatcher, false, func(u *dispatch.User, _ string, _ int64) error {
			_, err := db.NewRaw("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = ?", u.ID).Exec(ctx)
			return err
		}},
		{"technician unlinked", dispatch.RoleTechnician, true, func(_ *dispatch.User, _ string, techID int64) error {
			tech, err := techs.Get(ctx, techID)
			if err != nil {
				return err
			}
			tech.UserID = 0
			return techs.Update(ctx, tech, nil)
		}},
	}
	for i, tc := range cases {
		token, u := signIn(t, in, "revoke"+itoa(int64(i))+"@example.mx", tc.role)
		var techID int64
		if tc.linked {
			tech := &dispatch.Technician{Name: "Juan " + itoa(int64(i)), Phone: "55 1234 5678", Skills: []string{"fiber"},
				Home: dispatch.LatLon{Lat: 19.4, Lon: -99.13}, UserID: u.ID}
			if err := techs.Create(ctx, tech, nil); err != nil {
				t.Fatal(err)
			}
			techID = tech.ID
		}
		c := mustDial(t, in, token, -1)
		// Registered (and the last case's client gone) before the event: the handshake is
		// answered before the hub registers a client, and an event sent in between would
		// pass a client without after by.
		waitFor(t, 20*time.Second, "the client registered", func() bool { return in.hub.Clients() == 1 })
		stillStreams(c, techID)
		if err := tc.revoke(u, token, techID); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := closed(c, 10*time.Second); got != websocket.ClosePolicyViolation {
			t.Errorf("%s: feed closed with %d, want %d (closed because no longer allowed)", tc.name, got, websocket.ClosePolicyViolation)
		}
		if _, res, err := dial(t, in, token, -1, nil); err == nil || res == nil || (res.StatusCode != 401 && res.StatusCode != 403) {
			t.Errorf("%s: reconnecting: %v %v, want 401 or 403", tc.name, err, res)
		}
	}

	// A new name changes nothing the feed shows: it stays open.
	token, u := signIn(t, in, "renamed@example.mx", dispatch.RoleDispatcher)
	c := mustDial(t, in, token, -1)
	waitFor(t, 20*time.Second, "the client registered", func() bool { return in.hub.Clients() == 1 })
	name := "Otro Nombre"
	if _, err := admins.Update(ctx, u.ID, postgres.UserChange{Name: &name}, nil, now); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // rechecks ran: at once on user.updated, then every 200 ms
	stillStreams(c, 0)
}
