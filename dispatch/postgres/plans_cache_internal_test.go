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
