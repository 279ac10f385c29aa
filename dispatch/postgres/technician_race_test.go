package postgres_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestBookingRacingTechnicianChange: Juan, who lives next door to a customer, is
// deactivated (or given the day off) while the customer books. The change lists the days
// holding Juan's visits, re-plans them and commits; a booking that read Juan as working
// and committed between that list and the commit gave its visit to Juan, and nothing
// re-planned it: he was sent a visit on a day he no longer worked. The booking is made
// here at that very moment (the change's last step before it commits); it must wait for
// the change, then give the visit to Otro.
func TestBookingRacingTechnicianChange(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		change func(e *planEnv, juan *dispatch.Technician) error
	}{
		{"deactivated", func(e *planEnv, juan *dispatch.Technician) error {
			off := *juan
			off.Active = false
			_, err := e.visits.UpdateTechnician(context.Background(), &off, nil, e.now)
			return err
		}},
		{"day off", func(e *planEnv, juan *dispatch.Technician) error {
			_, err := e.visits.AddTimeOff(context.Background(), juan.ID,
				dispatch.Exception{Start: e.day, End: e.day.AddDate(0, 0, 1), Reason: dispatch.ExceptionTimeOff}, nil, e.now)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t)
			juan := e.tech(t, "Juan", 19.40)
			otro := e.tech(t, "Otro", 19.60)
			v := e.visit(t, 19.40, 60)
			booked := make(chan error, 1)
			postgres.SetBeforeTechnicianCommit(e.visits, func() {
				go func() {
					_, err := e.visits.Book(ctx, v.ID, dispatch.Span{Start: e.at(10, 0), End: e.at(12, 0)}, nil, e.now)
					booked <- err
				}()
				// Until the booking is done, or waits for a lock (the change's).
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					if len(booked) > 0 {
						return
					}
					var waiting int
					err := e.db.NewRaw(`SELECT count(*) FROM pg_stat_activity
						WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(ctx, &waiting)
					if err != nil {
						t.Error(err)
						return
					}
					if waiting > 0 {
						return
					}
				}
				t.Error("the booking neither finished nor waited within 10 s")
			})
			if err := c.change(e, juan); err != nil {
				t.Fatal(err)
			}
			if err := <-booked; err != nil {
				t.Fatal(err)
			}
			got, err := e.visits.Get(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != dispatch.VisitBooked || got.TechnicianID != otro.ID {
				t.Errorf("visit %s with technician %d; want booked with Otro (%d), not Juan (%d)", got.Status, got.TechnicianID, otro.ID, juan.ID)
			}
		})
	}
}
