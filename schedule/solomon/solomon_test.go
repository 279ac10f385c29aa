package solomon

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"despacho/schedule"
)

const benchDir = "../../../shared/bench/solomon"

// dir finds the shared benchmark directory from the repository or its
// worktrees.
func dir(tb testing.TB) string {
	tb.Helper()
	for _, d := range []string{os.Getenv("SOLOMON_DIR"), benchDir, "/work/shared/bench/solomon"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "c101.txt")); err == nil {
			return d
		}
	}
	tb.Fatalf("Solomon instances not found; set SOLOMON_DIR")
	return ""
}

func load(tb testing.TB, name string) *Instance {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir(tb), name+".txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	in, err := Parse(f)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

func TestParseC101(t *testing.T) {
	in := load(t, "c101")
	if got, want := in.Name, "C101"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	if in.Vehicles != 25 || in.Capacity != 200 {
		t.Errorf("vehicles, capacity = %d, %d, want 25, 200", in.Vehicles, in.Capacity)
	}
	if got := len(in.Customers); got != 101 {
		t.Fatalf("customers = %d, want 101 (depot + 100)", got)
	}
	c := in.Customers[1]
	want := Customer{ID: 1, X: 45, Y: 68, Demand: 10, Ready: 912, Due: 967, Service: 90, Line: c.Line}
	if c != want {
		t.Errorf("customer 1 = %+v, want %+v", c, want)
	}
}

const tiny = `TINY

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0         0          0          0       100          0
    1      3         4          5          0       50          10
    2      6         8          5          0       50          10
    3      0         5          5          20      30          10
`

// TestCheck pins the checker itself on hand-computed routes, so that it
// can be trusted to judge the solver.
func TestCheck(t *testing.T) {
	in, err := Parse(strings.NewReader(tiny))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		routes   [][]int
		complete bool
		dist     float64
		err      string
	}{
		{"two routes", [][]int{{1, 2}, {3}}, true, 5 + 5 + 10 + 10, ""},
		{"partial", [][]int{{1}}, false, 10, ""},
		{"missing", [][]int{{1}}, true, 0, "1 of 3 customers"},
		{"twice", [][]int{{1}, {1}}, false, 0, "visited twice"},
		{"capacity", [][]int{{3, 1, 2}}, true, 0, "over capacity"},
		{"window", [][]int{{1, 2}, {3, 1}}, false, 0, "visited twice"},
		{"reversed", [][]int{{2, 1}, {3}}, true, 10 + 5 + 5 + 5 + 5, ""},
		{"too late", [][]int{{1, 2, 3}}, false, 0, "customer 3 reached at 36.7082 after its due time 30"},
		{"too many routes", [][]int{{1}, {2}, {3}}, true, 0, "3 routes for 2 vehicles"},
		{"unknown", [][]int{{7}}, false, 0, "unknown customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := in.Check(tt.routes, tt.complete)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d < tt.dist-1e-9 || d > tt.dist+1e-9 {
				t.Errorf("distance = %v, want %v", d, tt.dist)
			}
		})
	}
}

// TestSolveFeasible solves a few instances of different classes briefly and
// has the independent checker judge every route; it also requires every
// customer served and a distance not absurdly far from the best known.
func TestSolveFeasible(t *testing.T) {
	bks := map[string]float64{"c101": 828.94, "r101": 1642.88, "rc208": 779.31, "r211": 755.96, "c205": 588.88}
	for name, best := range bks {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := load(t, name)
			res, err := in.Solve(context.Background(), schedule.Options{Work: 2e6, Seed: 7, Threads: 2, TimeLimit: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Unassigned) > 0 {
				t.Fatalf("unassigned %v", res.Unassigned)
			}
			d, err := in.Check(res.Routes, true)
			if err != nil {
				t.Fatal(err)
			}
			if d != res.Distance {
				t.Errorf("reported distance %v, checker %v", res.Distance, d)
			}
			if res.Vehicles != len(res.Routes) {
				t.Errorf("vehicles = %d, routes = %d", res.Vehicles, len(res.Routes))
			}
			// A loose sanity bound: construction alone stays within 25 %.
			if d > best*1.25 {
				t.Errorf("distance %.2f more than 25%% above BKS %.2f", d, best)
			}
		})
	}
}

func TestSolveDeterministic(t *testing.T) {
	in := load(t, "r105")
	opt := schedule.Options{Work: 1e6, Seed: 42, Threads: 2, TimeLimit: time.Minute}
	a, err := in.Solve(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := in.Solve(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if a.Distance != b.Distance || len(a.Routes) != len(b.Routes) {
		t.Fatalf("same seed and threads gave %v and %v", a.Distance, b.Distance)
	}
}

func TestParseErrors(t *testing.T) {
	base := strings.Split(tiny, "\n")
	edit := func(line int, text string) string {
		l := append([]string(nil), base...)
		l[line-1] = text
		return strings.Join(l, "\n")
	}
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "line 1: truncated"},
		{"truncated", strings.Join(base[:9], "\n"), "truncated"},
		{"cut mid-row", tiny[:strings.Index(tiny, "  10\n    3")+3], "line 12: truncated: the last line has no end of line"},
		{"cut in a number", strings.TrimSuffix(tiny, "0\n"), "line 13: truncated"},
		{"no vehicle", edit(3, "VEHICLES?"), "line 3: expected VEHICLE"},
		{"bad capacity", edit(5, "  2   ten"), `line 5: capacity "ten"`},
		{"non-numeric", edit(11, "    1      3   x  5  0  50  10"), `line 11: y "x" is not a number`},
		{"short row", edit(11, "    1      3   4  5  0  50"), "line 11: expected 7 fields, got 6"},
		{"negative service", edit(11, "    1      3   4  5  0  50  -10"), "line 11: service time is negative"},
		{"negative demand", edit(11, "    1      3   4  -5  0  50  10"), "line 11: demand is negative"},
		{"window reversed", edit(11, "    1      3   4  5  50  40  10"), "line 11: window ends (40) before it starts (50)"},
		{"duplicate", edit(12, "    1      6   8  5  0  50  10"), "line 12: customer 1 already given on line 11"},
		{"depot first", edit(10, "    9      0   0  0  0  100  0"), "line 10: the first customer row must be the depot"},
		{"unreachable", edit(12, "    2      60   80  5  0  50  10"), "customer 2: no vehicle can reach it"},
		{"no return", edit(12, "    2      6   8  5  85  90  10"), "customer 2: no vehicle can serve it and return"},
		{"too heavy", edit(12, "    2      6   8  50  0  50  10"), "customer 2: demand 50 exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}

// FuzzParse: Parse never panics, and what it accepts converts to a problem
// whose construction serves every customer feasibly (validation promises
// each customer is reachable on its own).
func FuzzParse(f *testing.F) {
	f.Add([]byte(tiny))
	f.Add([]byte(strings.Replace(tiny, "50          10", "-1 10", 1)))
	f.Add([]byte(tiny[:len(tiny)/2]))
	f.Add([]byte("X\nVEHICLE\nNUMBER\n1 1\nCUSTOMER\nCUST\n0 0 0 0 0 1e300 0\n1 0 0 1 0 0 0\n"))
	if b, err := os.ReadFile(filepath.Join(benchDir, "r201.txt")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Parse(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(in.Customers) > 30 {
			return
		}
		res, err := in.Solve(context.Background(), schedule.Options{Work: 2000, Threads: 1, TimeLimit: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Check(res.Routes, false); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClassAndMeans(t *testing.T) {
	for name, want := range map[string]string{"rc201": "RC2", "c101": "C1", "R112": "R1"} {
		if got := Class(name); got != want {
			t.Errorf("Class(%q) = %q, want %q", name, got, want)
		}
	}
	rows := []Row{
		{Instance: "c101", Class: "C1", Gap: 1, Vehicles: 10},
		{Instance: "c102", Class: "C1", Gap: 3, Vehicles: 10},
		{Instance: "r101", Class: "R1", Gap: 2, Vehicles: 20},
		{Instance: "r102", Class: "R1", Err: "boom"},
	}
	ms := Means(rows)
	got := map[string]Mean{}
	for _, m := range ms {
		got[m.Class] = m
	}
	if m := got["C1"]; m.N != 2 || m.Gap != 2 {
		t.Errorf("C1 = %+v, want n=2 gap=2", m)
	}
	if m := got["R1"]; m.N != 1 || m.Failed != 1 {
		t.Errorf("R1 = %+v, want n=1 failed=1", m)
	}
	if m := ms[len(ms)-1]; m.Class != "all" || m.N != 3 || m.Gap != 2 {
		t.Errorf("overall = %+v, want n=3 gap=2", m)
	}
}

// BenchmarkSolveWork times a fixed amount of search on three classes, so
// that speed-ups show independently of the time limit.
func BenchmarkSolveWork(b *testing.B) {
	for _, name := range []string{"c201", "r101", "rc105"} {
		in := load(b, name)
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res, err := in.Solve(context.Background(), schedule.Options{Work: 1e7, Seed: 1, Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.Distance, "distance")
			}
		})
	}
}
