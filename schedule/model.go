package schedule

import (
	"errors"
	"fmt"
	"time"
)

// Location is a point a technician travels between. ID indexes a Matrix;
// Lat and Lon (degrees) are what Haversine uses. A Travel implementation
// may use either.
type Location struct {
	ID       int
	Lat, Lon float64
}

// Window is a closed span of time [Start, End]. For a visit it bounds the
// moment service starts: the technician may arrive earlier and wait, but
// starts work no later than End.
type Window struct {
	Start, End time.Time
}

// Shift is one working span of a technician. The technician leaves the
// start location no earlier than Start and is back at the end location no
// later than End.
type Shift struct {
	Start, End time.Time
	// Break, when set, is taken in full during the shift wherever the
	// technician happens to be (after one visit, before the next).
	Break *Break
}

// Break is a pause of Duration that must start at or after Earliest
// and end at or before Latest (e.g. 30 min within 13:00–15:00).
type Break struct {
	Earliest, Latest time.Time
	Duration         time.Duration
}

// Technician is a vehicle of the routing problem: every Shift becomes one
// route that starts at Start and ends at End.
type Technician struct {
	ID         string
	Start, End Location
	Skills     []string
	Shifts     []Shift
	// Capacity bounds the sum of Demand over one shift's visits; 0 means
	// unlimited.
	Capacity int
}

// Visit is a job at a customer's address.
type Visit struct {
	ID       string
	Location Location
	Service  time.Duration
	// Skills must all be held by the technician who does the visit.
	Skills []string
	// Priority weighs the visit in the objective: an assigned visit counts
	// 1+Priority, and the solver first maximises the sum of these weights.
	Priority int
	// Windows are the hard windows for the start of service: the visit is
	// done within one of them or not at all. Empty means any time in a shift.
	Windows []Window
	// Availability is when the customer could receive a technician; Slots
	// offers windows only inside it. Empty means business hours.
	Availability []Window
	// Demand uses up technician Capacity.
	Demand int
	// Pin restricts the visit to one technician and, with Position, fixes
	// its order among that technician's pinned visits.
	Pin *Pin
	// Started marks a visit under way: it stays first on its pinned
	// technician's route and is never moved. Started requires Pin.
	Started bool
}

// Pin ties a visit to a technician. With Position > 0 the visit is also fixed:
// optimisation never removes it from the route, and pinned visits keep the
// order of their Positions (other visits may go between them).
type Pin struct {
	Technician string
	Position   int
}

// Hours are the daily business hours, as offsets from local midnight.
type Hours struct {
	Open, Close time.Duration
}

// Problem is everything the solver needs to build a Plan.
type Problem struct {
	Technicians []Technician
	Visits      []Visit
	// Travel gives free-flow legs; nil means Haversine{} (defaults).
	Travel Travel
	// Congestion optionally slows travel by hour of departure. The solver
	// integrates it over the leg, so arriving never gets earlier by leaving
	// later (FIFO).
	Congestion *Congestion
	// Zone is the business time zone for Congestion hours, Slots days and
	// Hours; nil means UTC.
	Zone *time.Location
	// Hours bound the windows Slots offers; zero means 08:00–18:00.
	Hours Hours
}

// Stop is one visit (or the break) on a route, with its timing.
type Stop struct {
	// Visit is the index into Problem.Visits, or -1 for the break.
	Visit     int
	ID        string
	Arrival   time.Time
	Start     time.Time
	Wait      time.Duration
	Departure time.Time
}

// Route is the ordered day of one technician shift.
type Route struct {
	Technician string
	// Shift indexes the technician's Shifts.
	Shift int
	// Depart and Return are when the technician leaves and gets back.
	Depart, Return time.Time
	Stops          []Stop
	// Meters and Travel sum the legs, home base to home base.
	Meters float64
	Travel time.Duration
}

// Reason says why a visit is unassigned.
type Reason int

// Reasons, from most to least fundamental.
const (
	// NoRoom: the visit could be done alone, but not alongside the others.
	NoRoom Reason = iota
	// NoSkill: no technician has every required skill.
	NoSkill
	// NoShift: no shift of a qualified technician overlaps a window.
	NoShift
	// WindowUnreachable: no qualified technician can arrive within a window
	// from home base and be back by the end of the shift.
	WindowUnreachable
	// OverCapacity: the demand exceeds every qualified technician's capacity.
	OverCapacity
	// BadPin: the pinned technician does not exist or lacks a skill.
	BadPin
)

var reasonText = [...]string{"no room", "no skill match", "no shift", "window cannot be met", "over capacity", "bad pin"}

// String returns the reason in words, as a dispatcher would read it.
func (r Reason) String() string {
	if int(r) < len(reasonText) {
		return reasonText[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Unassigned is a visit left out of the plan.
type Unassigned struct {
	Visit  int
	ID     string
	Reason Reason
}

// Plan is a solution: routes for every technician shift that has visits, and
// the visits left out. It remembers its Problem so that Insert, Slots and
// Reoptimize can work on it.
type Plan struct {
	Routes     []Route
	Unassigned []Unassigned
	// Meters is the total distance of all routes.
	Meters float64
	// Weight is the sum of 1+Priority over assigned visits.
	Weight int

	problem *Problem
	in      *inst
	seqs    [][]int32 // per vehicle: node sequence, depots included
}

// Problem returns the problem the plan solves (after Insert, it includes the
// inserted visit).
func (p *Plan) Problem() *Problem { return p.problem }

// Errors the package returns; use errors.Is.
var (
	// ErrInvalid: the model is malformed (a window that ends before it
	// starts, a negative duration, duplicate IDs…). The message names it.
	ErrInvalid = errors.New("schedule: invalid problem")
	// ErrNoInsertion: Insert found no feasible position for the visit.
	ErrNoInsertion = errors.New("schedule: no feasible insertion")
	// ErrPinned: pinned or started visits cannot all be kept as given.
	ErrPinned = errors.New("schedule: pinned visits cannot be kept")
)

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}
