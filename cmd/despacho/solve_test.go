package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"despacho/schedule/solomon"
)

const tinyInstance = `TINY

VEHICLE
NUMBER     CAPACITY
  3         10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0         0          0          0       200          0
    1      3         4          5          0       50          10
    2      6         8          5          0       80          10
    3      0         5          5          20      60          10
    4      -5        0          4          0       150         10
`

func writeFile(tb testing.TB, dir, name, body string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestRunSolve(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "tiny.txt", tinyInstance)
	var out, errb bytes.Buffer
	code := runSolve(context.Background(), []string{"--format", "solomon", path, "--time-limit", "300ms", "--seed", "3", "--threads", "1"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	var res struct {
		Vehicles   int       `json:"vehicles"`
		Distance   float64   `json:"distance"`
		Routes     [][]int   `json:"routes"`
		Unassigned []int     `json:"unassigned"`
		Extra      *struct{} `json:"extra"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	in, err := solomon.Parse(strings.NewReader(tinyInstance))
	if err != nil {
		t.Fatal(err)
	}
	d, err := in.Check(res.Routes, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Distance != d || res.Vehicles != len(res.Routes) || len(res.Unassigned) != 0 || res.Unassigned == nil {
		t.Errorf("result %+v, checker distance %v", res, d)
	}
}

func TestRunSolveErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.txt", tinyInstance)
	lines := strings.Split(tinyInstance, "\n")
	edit := func(name string, line int, text string) string {
		l := append([]string(nil), lines...)
		l[line-1] = text
		return writeFile(t, dir, name, strings.Join(l, "\n"))
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--colour", good}, "flag provided but not defined: -colour"},
		{"bad duration", []string{"--time-limit", "soon", good}, `invalid value "soon" for flag -time-limit`},
		{"bad format", []string{"--format", "tsplib", good}, `unknown --format "tsplib"`},
		{"no file", []string{"--format", "solomon"}, "want exactly one instance FILE"},
		{"two files", []string{good, good}, "want exactly one instance FILE"},
		{"negative limit", []string{"--time-limit", "-1s", good}, "--time-limit must be positive"},
		{"missing file", []string{filepath.Join(dir, "nope.txt")}, "no such file"},
		{"truncated", []string{writeFile(t, dir, "trunc.txt", strings.Join(lines[:8], "\n"))}, "truncated"},
		{"non-numeric", []string{edit("nn.txt", 11, "  1  3  4  five  0  50  10")}, `line 11: demand "five" is not a number`},
		{"negative duration", []string{edit("neg.txt", 11, "  1  3  4  5  0  50  -10")}, "line 11: service time is negative"},
		{"reversed window", []string{edit("rev.txt", 11, "  1  3  4  5  50  0  10")}, "line 11: window ends"},
		{"unreachable", []string{edit("far.txt", 13, "  3  0  500  5  20  60  10")}, "customer 3: no vehicle can reach it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runSolve(context.Background(), tt.args, &out, &errb)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errb.String())
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("stderr %q is not one line", msg)
			}
			if !strings.HasPrefix(msg, "despacho: solve: ") {
				t.Errorf("stderr %q, want it to start \"despacho: solve: \" as every other command's", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q, want it to contain %q", msg, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestRunBench(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "t101.txt", tinyInstance)
	writeFile(t, dir, "t201.txt", strings.Replace(tinyInstance, "200          0", "300          0", 1))
	writeFile(t, dir, "zz.txt", tinyInstance) // not in the BKS file: skipped
	writeFile(t, dir, "bks_distance_only.csv", "instance,vehicles,distance,source\nt101,2,40.00,x\nt201,2,40.00,x\n")
	csvPath := filepath.Join(dir, "out.csv")
	var out, errb bytes.Buffer
	code := runBench(context.Background(), []string{"solomon", "--dir", dir, "--time-limit", "200ms", "--csv", csvPath}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	for _, want := range []string{"t101", "t201", "T1", "T2", "all"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "zz") {
		t.Errorf("table includes an instance without BKS:\n%s", out.String())
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "\n"); got != 3 {
		t.Errorf("csv has %d lines, want header + 2:\n%s", got, b)
	}
	for _, args := range [][]string{
		{},
		{"tsplib"},
		{"solomon"},
		{"solomon", "--dir", filepath.Join(dir, "missing")},
		{"solomon", "--dir", dir, "--time-limit", "x"},
		{"solomon", "--dir", dir, "extra"},
	} {
		var out, errb bytes.Buffer
		if code := runBench(context.Background(), args, &out, &errb); code != 2 || strings.Count(errb.String(), "\n") != 1 ||
			!strings.HasPrefix(errb.String(), "despacho: bench: ") {
			t.Errorf("runBench(%q) = %d, stderr %q; want 2 and one line starting \"despacho: bench: \"", args, code, errb.String())
		}
	}
}
