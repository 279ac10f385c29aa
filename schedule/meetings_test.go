package schedule

import (
	"math"
	"testing"
	"time"
)

// TestMeetingsFixedWork: a fixed-work search meets at plan*e/epochs, as it always did, so
// its plans stay what they were for a seed.
func TestMeetingsFixedWork(t *testing.T) {
	const plan = 850_000_000
	m := meetings{plan: plan}
	for e := int64(1); e <= epochs; e++ {
		if got, want := m.target(e), plan*e/epochs; got != want {
			t.Errorf("epoch %d ends at %d units, want %d", e, got, want)
		}
	}
}

// TestMeetingsFollowThePace: a timed search re-plans after each epoch so that, on a
// machine slower than workRate (a town day on a busy VM) as on a faster one, its meeting
// points fall within its time, spread to its end, and its last epoch runs to the deadline.
// Planned from workRate alone, a machine at 45M units a second reached 15 of its 20
// meeting points in 10 s.
func TestMeetingsFollowThePace(t *testing.T) {
	const span = 10 * time.Second
	for _, pace := range []float64{30e6, 45e6, 60e6, 120e6} { // units a second
		m := meetings{plan: int64(span.Seconds() * workRate), timed: true}
		at := func(work int64) time.Duration { return time.Duration(float64(work) / pace * float64(time.Second)) }
		prev := int64(0)
		for e := int64(1); e < epochs; e++ {
			done := m.target(e)
			if done <= prev {
				t.Fatalf("pace %.0fM/s: epoch %d ends at %d units, not after the epoch before (%d)", pace/1e6, e, done, prev)
			}
			if took := at(done); took >= span {
				t.Fatalf("pace %.0fM/s: meeting point %d of %d at %v, past the %v deadline", pace/1e6, e, epochs, took, span)
			}
			m.replan(e, done, at(done), span)
			prev = done
		}
		// The last meeting point before the deadline leaves the final epoch about a
		// twentieth of the time, not most of it nor none.
		if last := at(prev); last < span*85/100 || last > span*97/100 {
			t.Errorf("pace %.0fM/s: meeting point %d at %v of %v", pace/1e6, epochs-1, last, span)
		}
		if got := m.target(epochs); got != math.MaxInt64 {
			t.Errorf("pace %.0fM/s: the last epoch ends at %d units, want the deadline", pace/1e6, got)
		}
	}
}
