package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"despacho/dispatch/postgres"
	"despacho/schedule"
)

// ReplanEvery is the default period of the re-plan job.
const ReplanEvery = 5 * time.Minute

// Replan returns the re-plan job: it re-optimises today's and tomorrow's plans (business
// days) as of now(), keeping started and pinned visits and every promised window; each
// customer whose technician changes gets one visit.rescheduled. A visit whose customer
// was already texted his technician keeps him unless needed (see Visits.Reoptimize), so
// a change that moved visits (a sick day) is not followed by a second move of the same
// ones. Today nobody is planned before now: each technician starts from where he is (see
// planning.Replan). limit bounds each day's search. Each run first drops the day plans
// nobody used for a while (see Visits.ForgetIdlePlans).
func Replan(visits *postgres.Visits, now func() time.Time, limit time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		visits.ForgetIdlePlans()
		cfg := visits.Config()
		t := now()
		today := cfg.Day(t)
		var errs []error
		for _, day := range []time.Time{today, cfg.NextDay(today)} {
			if ctx.Err() != nil {
				break
			}
			// No Clock, unlike a dispatcher's optimise: the job runs every few minutes on
			// the serving machine, and with a clock the search would fill its limit on
			// both days whatever their size; without, it does the work the limit plans
			// (workRate) and stops, the limit only a cap on a slow machine.
			if _, err := visits.Reoptimize(ctx, day, schedule.Options{TimeLimit: limit, Seed: uint64(t.UnixNano())}, t); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", day.Format(time.DateOnly), err))
			}
		}
		return errors.Join(errs...)
	}
}
