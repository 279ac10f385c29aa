package dispatch_test

import (
	"testing"
	"time"

	"despacho/dispatch"
)

// TestSharesPositionAt: a position is taken from 30 min before a working span to 30 min
// after it, or while a visit is under way; never with no span that day.
func TestSharesPositionAt(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	split := []dispatch.Span{{Start: at(8, 0), End: at(12, 0)}, {Start: at(15, 0), End: at(18, 0)}}
	for _, c := range []struct {
		name     string
		t        time.Time
		spans    []dispatch.Span
		underWay bool
		want     bool
	}{
		{"no span (day off)", at(12, 0), nil, false, false},
		{"no span, a visit under way", at(12, 0), nil, true, true},
		{"31 min before", at(7, 29), split, false, false},
		{"30 min before", at(7, 30), split, false, true},
		{"inside", at(10, 0), split, false, true},
		{"30 min after the first piece", at(12, 30), split, false, true},
		{"between the pieces", at(13, 30), split, false, false},
		{"30 min before the second piece", at(14, 30), split, false, true},
		{"30 min after", at(18, 30), split, false, true},
		{"31 min after", at(18, 31), split, false, false},
		{"evening, a visit under way", at(21, 0), split, true, true},
	} {
		if got := dispatch.SharesPositionAt(c.t, c.spans, c.underWay); got != c.want {
			t.Errorf("%s: SharesPositionAt(%s) = %v, want %v", c.name, c.t.Format("15:04"), got, c.want)
		}
	}
}
