package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestSessionLookupsTogether asks for many sessions at once, so that they are answered by
// shared queries: each caller gets its own user, and expired, unknown, signed-out and
// deactivated sessions are refused.
func TestSessionLookupsTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	users := postgres.NewUsers(db)
	admin := postgres.NewUserAdmin(db, nil)
	now := time.Now()
	const n = 8
	type session struct {
		token string
		user  int64 // 0: must be refused
	}
	var sessions []session
	for i := range n {
		u, err := dispatch.NewUser(fmt.Sprintf("agent%d@example.mx", i), fmt.Sprintf("Agent %d", i), dispatch.RoleAgent, "a long password 123")
		if err != nil {
			t.Fatal(err)
		}
		if err := users.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		live, expired, out := fmt.Sprintf("live-%d", i), fmt.Sprintf("expired-%d", i), fmt.Sprintf("out-%d", i)
		for tok, until := range map[string]time.Time{live: now.Add(time.Hour), expired: now.Add(-time.Second), out: now.Add(time.Hour)} {
			if err := users.CreateSession(ctx, tok, u.ID, until); err != nil {
				t.Fatal(err)
			}
		}
		if err := users.DeleteSession(ctx, out); err != nil {
			t.Fatal(err)
		}
		want := u.ID
		if i == n-1 { // deactivated: its live session is refused too
			off := false
			if _, err := admin.Update(ctx, u.ID, postgres.UserChange{Active: &off}, nil, now); err != nil {
				t.Fatal(err)
			}
			want = 0
		}
		sessions = append(sessions, session{live, want}, session{expired, 0}, session{out, 0}, session{fmt.Sprintf("unknown-%d", i), 0})
	}
	for round := range 3 {
		var calls []func()
		for _, s := range sessions {
			for range 4 { // the same token asked by several requests at once
				calls = append(calls, func() {
					u, err := users.SessionUser(ctx, s.token, now)
					var de *dispatch.Error
					switch {
					case s.user == 0 && (err == nil || !errors.As(err, &de) || de.Kind != dispatch.KindUnauthenticated):
						t.Errorf("round %d, token %s: %+v %v, want unauthenticated", round, s.token, u, err)
					case s.user != 0 && (err != nil || u.ID != s.user):
						t.Errorf("round %d, token %s: %+v %v, want user %d", round, s.token, u, err, s.user)
					}
				})
			}
		}
		dispatchtest.AllAtOnce(calls)
	}
	if got := postgres.LargestLookupBatch(users); got < 2 {
		t.Fatalf("largest lookup batch %d: the lookups never shared a query", got)
	}
}
