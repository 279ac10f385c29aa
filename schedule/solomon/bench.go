package solomon

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"despacho/schedule"
)

// BKS is a best known solution from the yardstick file.
type BKS struct {
	Vehicles int
	Distance float64
}

// LoadBKS reads a CSV with header instance,vehicles,distance[,…], keyed by
// lower-case instance name.
func LoadBKS(r io.Reader) (map[string]BKS, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]BKS{}
	for i, row := range rows {
		if i == 0 || len(row) < 3 {
			continue
		}
		v, err1 := strconv.Atoi(strings.TrimSpace(row[1]))
		d, err2 := strconv.ParseFloat(strings.TrimSpace(row[2]), 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bks line %d: bad number", i+1)
		}
		out[strings.ToLower(strings.TrimSpace(row[0]))] = BKS{v, d}
	}
	return out, nil
}

// Row is one benchmarked instance.
type Row struct {
	Instance string
	Class    string
	Vehicles int
	Distance float64
	BKS      BKS
	// Gap is the distance gap to the BKS in percent.
	Gap        float64
	Seconds    float64
	Unassigned int
	Err        string
}

// Class returns the Solomon class of an instance name ("rc201" → "RC2").
func Class(name string) string {
	n := strings.ToUpper(name)
	i := strings.IndexAny(n, "0123456789")
	if i < 0 || i == len(n) {
		return n
	}
	return n[:i+1]
}

// BenchOptions configure Bench.
type BenchOptions struct {
	Dir string
	// BKSFile defaults to bks_distance_only.csv, then bks.csv, in Dir.
	BKSFile   string
	TimeLimit time.Duration
	Seed      uint64
	Threads   int
	// Now reads the clock for the Seconds column and lets a starved search
	// cool on time (see schedule.Options.Clock); the package reads none.
	Now func() time.Time
	// Progress, when set, is called after each instance.
	Progress func(Row)
}

// Bench solves every *.txt instance in Dir that the BKS file lists.
func Bench(ctx context.Context, o BenchOptions) ([]Row, error) {
	bksPath := o.BKSFile
	if bksPath == "" {
		bksPath = filepath.Join(o.Dir, "bks_distance_only.csv")
		if _, err := os.Stat(bksPath); err != nil {
			bksPath = filepath.Join(o.Dir, "bks.csv")
		}
	}
	f, err := os.Open(bksPath)
	if err != nil {
		return nil, err
	}
	bks, err := LoadBKS(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(o.Dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	now := o.Now
	if now == nil {
		now = func() time.Time { return time.Time{} }
	}
	var rows []Row
	for _, path := range files {
		name := strings.ToLower(strings.TrimSuffix(filepath.Base(path), ".txt"))
		b, ok := bks[name]
		if !ok {
			continue
		}
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		row := Row{Instance: name, Class: Class(name), BKS: b}
		start := now()
		res, err := solveFile(ctx, path, schedule.Options{TimeLimit: o.TimeLimit, Seed: o.Seed, Threads: o.Threads, Clock: o.Now})
		row.Seconds = now().Sub(start).Seconds()
		if err != nil {
			row.Err = err.Error()
		} else {
			row.Vehicles, row.Distance, row.Unassigned = res.Vehicles, res.Distance, len(res.Unassigned)
			row.Gap = 100 * (res.Distance - b.Distance) / b.Distance
		}
		rows = append(rows, row)
		if o.Progress != nil {
			o.Progress(row)
		}
	}
	return rows, nil
}

func solveFile(ctx context.Context, path string, opt schedule.Options) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in, err := Parse(f)
	if err != nil {
		return nil, err
	}
	return in.Solve(ctx, opt)
}

// Mean is the average over a class (or "all").
type Mean struct {
	Class    string
	N        int
	Gap      float64
	Vehicles float64
	Seconds  float64
	Failed   int // rows with an error or unassigned customers
}

// Means returns the means per class in the order C1, C2, R1, R2, RC1, RC2
// (others after), then the overall mean, class "all". Failed rows count in
// Failed only.
func Means(rows []Row) []Mean {
	by := map[string]*Mean{}
	all := &Mean{Class: "all"}
	var order []string
	for _, r := range rows {
		m, ok := by[r.Class]
		if !ok {
			m = &Mean{Class: r.Class}
			by[r.Class] = m
			order = append(order, r.Class)
		}
		for _, x := range []*Mean{m, all} {
			if r.Err != "" || r.Unassigned > 0 {
				x.Failed++
				continue
			}
			x.N++
			x.Gap += r.Gap
			x.Vehicles += float64(r.Vehicles)
			x.Seconds += r.Seconds
		}
	}
	rank := map[string]int{"C1": 0, "C2": 1, "R1": 2, "R2": 3, "RC1": 4, "RC2": 5}
	sort.SliceStable(order, func(i, j int) bool {
		ri, ok1 := rank[order[i]]
		rj, ok2 := rank[order[j]]
		if !ok1 {
			ri = 99
		}
		if !ok2 {
			rj = 99
		}
		return ri < rj
	})
	var out []Mean
	for _, c := range append(order, "all") {
		m := by[c]
		if c == "all" {
			m = all
		}
		if m.N > 0 {
			m.Gap /= float64(m.N)
			m.Vehicles /= float64(m.N)
			m.Seconds /= float64(m.N)
		}
		out = append(out, *m)
	}
	return out
}

// WriteTable prints one line per row, then the means.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "%-8s %8s %10s %10s %7s %7s\n", "instance", "vehicles", "distance", "BKS", "gap%", "seconds")
	for _, r := range rows {
		WriteRow(w, r)
	}
	WriteMeans(w, rows)
}

// WriteMeans prints the class means and the overall mean.
func WriteMeans(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "\n%-5s %3s %8s %8s %8s %6s\n", "class", "n", "gap%", "vehicles", "seconds", "failed")
	for _, m := range Means(rows) {
		fmt.Fprintf(w, "%-5s %3d %8.2f %8.2f %8.2f %6d\n", m.Class, m.N, m.Gap, m.Vehicles, m.Seconds, m.Failed)
	}
}

// WriteRow prints one table line.
func WriteRow(w io.Writer, r Row) {
	if r.Err != "" {
		fmt.Fprintf(w, "%-8s ERROR %s\n", r.Instance, r.Err)
		return
	}
	fmt.Fprintf(w, "%-8s %8d %10.2f %10.2f %7.2f %7.2f", r.Instance, r.Vehicles, r.Distance, r.BKS.Distance, r.Gap, r.Seconds)
	if r.Unassigned > 0 {
		fmt.Fprintf(w, " unassigned=%d", r.Unassigned)
	}
	fmt.Fprintln(w)
}

// WriteCSV writes the rows with a header.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"instance", "class", "vehicles", "distance", "bks_vehicles", "bks_distance", "gap_percent", "seconds", "unassigned", "error"})
	for _, r := range rows {
		cw.Write([]string{r.Instance, r.Class, strconv.Itoa(r.Vehicles), strconv.FormatFloat(r.Distance, 'f', 4, 64),
			strconv.Itoa(r.BKS.Vehicles), strconv.FormatFloat(r.BKS.Distance, 'f', 2, 64),
			strconv.FormatFloat(r.Gap, 'f', 4, 64), strconv.FormatFloat(r.Seconds, 'f', 3, 64), strconv.Itoa(r.Unassigned), r.Err})
	}
	cw.Flush()
	return cw.Error()
}
