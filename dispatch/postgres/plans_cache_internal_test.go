package postgres

import (
	"fmt"
	"testing"
	"time"

	"despacho/schedule"
)

// TestPlanCacheBound: the day-plan cache keeps at most cachedDays plans and, when full,
// drops the day used least recently, not the one just used.
func TestPlanCacheBound(t *testing.T) {
	s := &Visits{plans: map[string]cachedPlan{}}
	for i := range cachedDays {
		s.remember(fmt.Sprintf("d%d", i), uint64(i), &schedule.Plan{})
	}
	if _, ok := s.cached("d0", 0); !ok { // d0 is now the most recently used
		t.Fatal("d0 not cached")
	}
	if _, ok := s.cached("d1", 99); ok {
		t.Fatal("a plan served for another state's fingerprint")
	}
	s.remember("new", 42, &schedule.Plan{})
	if len(s.plans) != cachedDays {
		t.Errorf("%d plans cached, want %d", len(s.plans), cachedDays)
	}
	if _, ok := s.cached("d0", 0); !ok {
		t.Error("the day just used was dropped")
	}
	if _, ok := s.plans["d1"]; ok {
		t.Error("the least recently used day (d1) was kept")
	}
	if _, ok := s.cached("new", 42); !ok {
		t.Error("the new day is not cached")
	}
}

// TestPlanCacheForgetsIdleDays: a day plan unused for planIdle is dropped; one used since
// is kept.
func TestPlanCacheForgetsIdleDays(t *testing.T) {
	s := &Visits{plans: map[string]cachedPlan{}}
	s.remember("old", 1, &schedule.Plan{})
	s.remember("used", 2, &schedule.Plan{})
	c := s.plans["old"]
	c.usedAt = c.usedAt.Add(-planIdle - time.Second)
	s.plans["old"] = c
	s.ForgetIdlePlans()
	if _, ok := s.plans["old"]; ok {
		t.Error("a day unused for planIdle was kept")
	}
	if _, ok := s.cached("used", 2); !ok {
		t.Error("a day just used was dropped")
	}
}

// TestPlanCacheByteBound: past cachedBytes the least recently used days are dropped, and
// the day just planned is kept even when it alone is bigger.
func TestPlanCacheByteBound(t *testing.T) {
	s := &Visits{plans: map[string]cachedPlan{}}
	for i := range 3 {
		s.remember(fmt.Sprintf("d%d", i), uint64(i), &schedule.Plan{})
	}
	// Sizes as if each day's tables were a third of the budget and a bit.
	for k, c := range s.plans {
		c.bytes = cachedBytes/3 + 1
		s.plans[k] = c
	}
	s.cached("d0", 0) // d1 is now the least recently used
	s.remember("d3", 3, &schedule.Plan{})
	if _, ok := s.plans["d1"]; ok {
		t.Error("over the byte bound, the least recently used day (d1) was kept")
	}
	if len(s.plans) != 3 {
		t.Errorf("%d days cached, want 3 (two of a third of the budget and the new one)", len(s.plans))
	}
	// A day bigger than the whole budget leaves alone: everything else goes.
	for k, c := range s.plans {
		c.bytes = 2 * cachedBytes
		s.plans[k] = c
	}
	s.remember("small", 5, &schedule.Plan{})
	if _, ok := s.cached("small", 5); !ok || len(s.plans) != 1 {
		t.Errorf("after the big days: %d days cached, want only the one just planned", len(s.plans))
	}
}
