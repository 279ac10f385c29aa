// Package solomon reads Solomon VRPTW benchmark instances, solves them with
// package schedule under the usual conventions (Euclidean distance in double
// precision, travel time equal to distance, the depot due time as horizon,
// at most the instance's vehicle number) and checks and benchmarks the
// results.
package solomon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"despacho/schedule"
)

// Customer is one row of the CUSTOMER section; row 0 is the depot.
type Customer struct {
	ID                  int
	X, Y                float64
	Demand              int
	Ready, Due, Service float64
	Line                int // 1-based line in the file
}

// Instance is a parsed Solomon file.
type Instance struct {
	Name      string
	Vehicles  int
	Capacity  int
	Customers []Customer // [0] is the depot
}

// Error is a problem with an instance, naming the line or the customer.
type Error struct {
	Line     int // 0 when the error is about a customer as a whole
	Customer int // -1 when not about one customer
	Msg      string
}

// Error formats as "line N: …" or "customer N: …", on one line.
func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Customer >= 0:
		return fmt.Sprintf("customer %d: %s", e.Customer, e.Msg)
	}
	return e.Msg
}

func lineErr(line int, format string, a ...any) error {
	return &Error{Line: line, Customer: -1, Msg: fmt.Sprintf(format, a...)}
}

// Parse reads an instance and validates it: every number well formed and
// non-negative, every window ending no earlier than it starts, every
// customer reachable from the depot by some vehicle and back by the horizon.
// Errors are *Error.
func Parse(r io.Reader) (*Instance, error) {
	br := bufio.NewReader(r)
	inst := &Instance{}
	const (
		wantName = iota
		wantVehicle
		wantVehicleHeader
		wantVehicleRow
		wantCustomer
		wantCustomerHeader
		wantRows
	)
	state := wantName
	line := 0
	seen := map[int]int{}
	for {
		raw, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, lineErr(line+1, "%v", err)
		}
		if raw == "" && err == io.EOF {
			break
		}
		line++
		text := strings.TrimSpace(raw)
		if text == "" {
			if err == io.EOF {
				break
			}
			continue
		}
		// Every Solomon file ends its last row with a newline; a row
		// without one was cut off, possibly in the middle of a number.
		if err == io.EOF && state == wantRows {
			return nil, lineErr(line, "truncated: the last line has no end of line")
		}
		up := strings.ToUpper(text)
		switch state {
		case wantName:
			inst.Name = text
			state = wantVehicle
		case wantVehicle:
			if up != "VEHICLE" {
				return nil, lineErr(line, "expected VEHICLE, got %q", clip(text))
			}
			state = wantVehicleHeader
		case wantVehicleHeader:
			if !strings.HasPrefix(up, "NUMBER") {
				return nil, lineErr(line, "expected the NUMBER CAPACITY header, got %q", clip(text))
			}
			state = wantVehicleRow
		case wantVehicleRow:
			f := strings.Fields(text)
			if len(f) != 2 {
				return nil, lineErr(line, "expected vehicle number and capacity, got %d fields", len(f))
			}
			var err error
			if inst.Vehicles, err = posInt(f[0]); err != nil || inst.Vehicles == 0 {
				return nil, lineErr(line, "vehicle number %q is not a positive integer", clip(f[0]))
			}
			if inst.Capacity, err = posInt(f[1]); err != nil || inst.Capacity == 0 {
				return nil, lineErr(line, "capacity %q is not a positive integer", clip(f[1]))
			}
			state = wantCustomer
		case wantCustomer:
			if up != "CUSTOMER" {
				return nil, lineErr(line, "expected CUSTOMER, got %q", clip(text))
			}
			state = wantCustomerHeader
		case wantCustomerHeader:
			if !strings.HasPrefix(up, "CUST") {
				return nil, lineErr(line, "expected the customer header, got %q", clip(text))
			}
			state = wantRows
		case wantRows:
			c, err := parseRow(text, line)
			if err != nil {
				return nil, err
			}
			if len(inst.Customers) == 0 && c.ID != 0 {
				return nil, lineErr(line, "the first customer row must be the depot, numbered 0")
			}
			if prev, ok := seen[c.ID]; ok {
				return nil, lineErr(line, "customer %d already given on line %d", c.ID, prev)
			}
			seen[c.ID] = line
			inst.Customers = append(inst.Customers, c)
		}
	}
	if state != wantRows || len(inst.Customers) < 2 {
		return nil, lineErr(line+1, "truncated file: no customers after the depot")
	}
	if err := inst.validate(); err != nil {
		return nil, err
	}
	return inst, nil
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

func posInt(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad")
	}
	return v, nil
}

var fieldNames = [...]string{"customer number", "x", "y", "demand", "ready time", "due date", "service time"}

func parseRow(text string, line int) (Customer, error) {
	f := strings.Fields(text)
	if len(f) != 7 {
		return Customer{}, lineErr(line, "expected 7 fields, got %d", len(f))
	}
	var v [7]float64
	for i, s := range f {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e9 {
			return Customer{}, lineErr(line, "%s %q is not a number", fieldNames[i], clip(s))
		}
		if x < 0 && i != 1 && i != 2 {
			return Customer{}, lineErr(line, "%s is negative", fieldNames[i])
		}
		v[i] = x
	}
	if v[0] != math.Trunc(v[0]) {
		return Customer{}, lineErr(line, "customer number %q is not an integer", clip(f[0]))
	}
	if v[3] != math.Trunc(v[3]) {
		return Customer{}, lineErr(line, "demand %q is not an integer", clip(f[3]))
	}
	if v[5] < v[4] {
		return Customer{}, lineErr(line, "window ends (%g) before it starts (%g)", v[5], v[4])
	}
	return Customer{ID: int(v[0]), X: v[1], Y: v[2], Demand: int(v[3]), Ready: v[4], Due: v[5], Service: v[6], Line: line}, nil
}

// Dist is the Euclidean distance between customers i and j (indices into
// Customers), in double precision.
func (in *Instance) Dist(i, j int) float64 {
	a, b := in.Customers[i], in.Customers[j]
	return math.Hypot(a.X-b.X, a.Y-b.Y)
}

func (in *Instance) validate() error {
	d := in.Customers[0]
	for i, c := range in.Customers[1:] {
		i++
		if c.Demand > in.Capacity {
			return &Error{Customer: c.ID, Msg: fmt.Sprintf("demand %d exceeds the vehicle capacity %d", c.Demand, in.Capacity)}
		}
		arr := d.Ready + in.Dist(0, i)
		if arr > c.Due {
			return &Error{Customer: c.ID, Msg: fmt.Sprintf("no vehicle can reach it by its due time %g (earliest arrival %.2f)", c.Due, arr)}
		}
		back := math.Max(arr, c.Ready) + c.Service + in.Dist(i, 0)
		if back > d.Due {
			return &Error{Customer: c.ID, Msg: fmt.Sprintf("no vehicle can serve it and return to the depot by %g (earliest return %.2f)", d.Due, back)}
		}
	}
	return nil
}

// origin is the instant that Solomon time 0 maps to; one Solomon time unit is
// one second.
var origin = time.Unix(0, 0).UTC()

func at(t float64) time.Time { return origin.Add(time.Duration(math.Round(t * 1e9))) }

// Problem converts the instance: one technician per vehicle, each with one
// shift spanning the depot's window and the instance capacity, visits with
// their single window, and matrix travel with time equal to distance.
func (in *Instance) Problem() *schedule.Problem {
	n := len(in.Customers)
	m := &schedule.Matrix{N: n, Seconds: make([]float64, n*n), Meters: make([]float64, n*n)}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			d := in.Dist(i, j)
			m.Seconds[i*n+j], m.Meters[i*n+j] = d, d
		}
	}
	p := &schedule.Problem{Travel: m}
	d := in.Customers[0]
	depot := schedule.Location{ID: 0, Lat: d.Y, Lon: d.X}
	for v := 0; v < in.Vehicles; v++ {
		p.Technicians = append(p.Technicians, schedule.Technician{
			ID: fmt.Sprintf("v%d", v+1), Start: depot, End: depot,
			Shifts:   []schedule.Shift{{Start: at(d.Ready), End: at(d.Due)}},
			Capacity: in.Capacity,
		})
	}
	for i, c := range in.Customers[1:] {
		p.Visits = append(p.Visits, schedule.Visit{
			ID:       strconv.Itoa(c.ID),
			Location: schedule.Location{ID: i + 1, Lat: c.Y, Lon: c.X},
			Service:  time.Duration(math.Round(c.Service * 1e9)),
			Windows:  []schedule.Window{{Start: at(c.Ready), End: at(c.Due)}},
			Demand:   c.Demand,
		})
	}
	return p
}

// Result is a solution in customer numbers, as `despacho solve` prints it.
type Result struct {
	Vehicles   int     `json:"vehicles"`
	Distance   float64 `json:"distance"`
	Routes     [][]int `json:"routes"`
	Unassigned []int   `json:"unassigned"`
}

// Solve solves the instance and returns the routes in customer numbers, the
// distance recomputed by Check (which must pass) and the unassigned.
func (in *Instance) Solve(ctx context.Context, opt schedule.Options) (*Result, error) {
	pl, err := schedule.Solve(ctx, in.Problem(), opt)
	if err != nil {
		return nil, err
	}
	res := &Result{Routes: [][]int{}, Unassigned: []int{}}
	for _, r := range pl.Routes {
		var ids []int
		for _, s := range r.Stops {
			if s.Visit >= 0 {
				ids = append(ids, in.Customers[s.Visit+1].ID)
			}
		}
		res.Routes = append(res.Routes, ids)
	}
	for _, u := range pl.Unassigned {
		res.Unassigned = append(res.Unassigned, in.Customers[u.Visit+1].ID)
	}
	res.Vehicles = len(res.Routes)
	d, err := in.Check(res.Routes, len(res.Unassigned) == 0)
	if err != nil {
		return nil, fmt.Errorf("solver returned an infeasible solution: %w", err)
	}
	res.Distance = d
	return res, nil
}

// Check verifies routes (customer numbers in visit order) independently of
// the solver: at most the instance's vehicles, no customer twice, every
// customer present when complete is set, capacity, every window (waiting
// allowed), return to the depot by its due time. It returns the distance.
func (in *Instance) Check(routes [][]int, complete bool) (float64, error) {
	const tol = 1e-6
	if len(routes) > in.Vehicles {
		return 0, fmt.Errorf("%d routes for %d vehicles", len(routes), in.Vehicles)
	}
	idx := map[int]int{}
	for i, c := range in.Customers {
		idx[c.ID] = i
	}
	seen := map[int]bool{}
	total := 0.0
	d := in.Customers[0]
	for ri, r := range routes {
		if len(r) == 0 {
			return 0, fmt.Errorf("route %d is empty", ri)
		}
		t, load, prev := d.Ready, 0, 0
		for _, id := range r {
			i, ok := idx[id]
			if !ok || i == 0 {
				return 0, fmt.Errorf("route %d: unknown customer %d", ri, id)
			}
			if seen[id] {
				return 0, fmt.Errorf("customer %d visited twice", id)
			}
			seen[id] = true
			c := in.Customers[i]
			t += in.Dist(prev, i)
			total += in.Dist(prev, i)
			if t > c.Due+tol {
				return 0, fmt.Errorf("route %d: customer %d reached at %.4f after its due time %g", ri, id, t, c.Due)
			}
			t = math.Max(t, c.Ready) + c.Service
			load += c.Demand
			prev = i
		}
		if load > in.Capacity {
			return 0, fmt.Errorf("route %d: load %d over capacity %d", ri, load, in.Capacity)
		}
		t += in.Dist(prev, 0)
		total += in.Dist(prev, 0)
		if t > d.Due+tol {
			return 0, fmt.Errorf("route %d: back at the depot at %.4f after %g", ri, t, d.Due)
		}
	}
	if complete && len(seen) != len(in.Customers)-1 {
		return 0, fmt.Errorf("%d of %d customers served", len(seen), len(in.Customers)-1)
	}
	return total, nil
}
