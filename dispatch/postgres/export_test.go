package postgres

import "time"

// SetAfterSearch makes v run f between Optimize's search and its write (tests only).
func SetAfterSearch(v *Visits, f func()) { v.afterSearch = f }

// SetBeforeTechnicianCommit makes v run f at the end of a change to what a technician can
// do, before it commits (tests only).
func SetBeforeTechnicianCommit(v *Visits, f func()) { v.beforeTechnicianCommit = f }

// LargestCreateBatch is the most creations one of r's batches has carried.
func LargestCreateBatch(r *Reports) int {
	return r.creations.biggest()
}

// LargestLookupBatch is the most session lookups one of u's queries has answered.
func LargestLookupBatch(u *Users) int { return u.lookups.biggest() }

// OptimizeWaiting is how many Optimize calls wait for the running re-plan of day (a
// date, 2006-01-02), or -1 when none runs.
func OptimizeWaiting(v *Visits, day string) int {
	v.optMu.Lock()
	defer v.optMu.Unlock()
	if c := v.optimizing[day]; c != nil {
		return c.waiting
	}
	return -1
}

// SetCalendarClock makes b read the time from now, so that a test can pass CalendarRecheck
// without waiting.
func SetCalendarClock(b *BusinessCalendar, now func() time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = now
}
