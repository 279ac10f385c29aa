package schedule_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"despacho/schedule"
)

// Service-sized benchmarks on a generated town: 50 technicians with lunch
// breaks, 400 visits a day with 2 h windows and skills, haversine travel.
// Timings are reported, never asserted.

func townPlan(b *testing.B, days, visits int, limit time.Duration) *schedule.Plan {
	b.Helper()
	p := town(42, 50, visits, days)
	pl, err := schedule.Solve(context.Background(), p, schedule.Options{TimeLimit: limit, Seed: 1, Clock: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	return pl
}

func newVisit(rng *rand.Rand, i, days int) schedule.Visit {
	d := rng.IntN(days)
	s := 8 + 2*float64(rng.IntN(5))
	return schedule.Visit{
		ID:       fmt.Sprintf("new%d", i),
		Location: schedule.Location{Lat: 19.43 + (rng.Float64()-0.5)*0.15, Lon: -99.13 + (rng.Float64()-0.5)*0.15},
		Service:  time.Duration(20+rng.IntN(41)) * time.Minute,
		Skills:   []string{allSkills[rng.IntN(len(allSkills))]},
		Windows:  []schedule.Window{{Start: hm(d, s), End: hm(d, s+2)}},
	}
}

// reportQuantiles reports wall-clock and thread-CPU latency quantiles; on a
// machine shared with other work the CPU figures show the cost of the
// operation itself.
func reportQuantiles(b *testing.B, lat, cpu []time.Duration) {
	slices.Sort(lat)
	slices.Sort(cpu)
	q := func(d []time.Duration, f float64) float64 { return float64(d[int(f*float64(len(d)-1))]) / 1e6 }
	b.ReportMetric(q(lat, 0.5), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(q(cpu, 0.99), "p99-cpu-ms")
}

// BenchmarkInsert inserts one urgent visit into a solved 400-visit day.
func BenchmarkInsert(b *testing.B) {
	pl := townPlan(b, 1, 400, 2*time.Second)
	rng := rand.New(rand.NewPCG(7, 7))
	lat := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	ok := 0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := newVisit(rng, i, 1)
		t0, c0 := time.Now(), threadCPU()
		_, err := schedule.Insert(pl, v)
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0)
		if err == nil {
			ok++
		}
	}
	b.StopTimer()
	reportQuantiles(b, lat, cpu)
	b.ReportMetric(float64(ok)/float64(b.N), "inserted")
}

// BenchmarkSlots offers 2 h slots over 5 days on a plan of 5 days × 400
// visits.
func BenchmarkSlots(b *testing.B) {
	pl := townPlan(b, 5, 2000, 5*time.Second)
	rng := rand.New(rand.NewPCG(8, 8))
	lat := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	n := 0
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := newVisit(rng, i, 1)
		v.Windows = nil
		t0, c0 := time.Now(), threadCPU()
		s, err := schedule.Slots(pl, v, hm(0, 7), 5, 2*time.Hour)
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0)
		if err != nil {
			b.Fatal(err)
		}
		n += len(s)
	}
	b.StopTimer()
	reportQuantiles(b, lat, cpu)
	b.ReportMetric(float64(n)/float64(b.N), "slots")
}

// BenchmarkSolveTown is BenchmarkSolveTownWork with real time limits: each
// run gets its effort as a time limit (with Options.Clock), as the service
// and `despacho solve` run it, so that its result is what this machine does
// in that time now, and depends on its load. The issue's figure is "in
// 10 s": run it on a quiet machine, towns 44 and 46 with twelve seeds
// (about 30 minutes):
//
//	go test ./schedule -run '^$' -bench 'SolveTown$/town4[46]' -benchtime 1x -timeout 2h -args -town-seeds 1-12
func BenchmarkSolveTown(b *testing.B) {
	compareTowns(b, func(p *schedule.Problem, secs int64, seed uint64) (*schedule.Plan, error) {
		return schedule.Solve(context.Background(), p, schedule.Options{TimeLimit: time.Duration(secs) * time.Second, Seed: seed, Threads: 2, Clock: time.Now})
	}, "s")
}

// BenchmarkSolve1000 reports the memory of solving 1,000 visits.
func BenchmarkSolve1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		p := town(43, 100, 1000, 1)
		pl, err := schedule.Solve(context.Background(), p, schedule.Options{TimeLimit: 5 * time.Second, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
		b.ReportMetric(float64(len(pl.Unassigned)), "unassigned")
	}
}

// BenchmarkSolveTownWork is BenchmarkSolveTown, on five towns (seeds
// 42–46), with the effort fixed in work units instead of time — what 10 s
// and 60 s do per thread on 2 threads, at the pace measured on these towns
// (townRate) — so that a busy machine changes how long it takes but not
// the result (the same seed gives the same km on any machine). cpu-s is the process CPU time the
// solve took, the figure to compare speed by on a shared machine; a
// 10s-equivalent should take about 20 of them, and when a change to the
// solver moves that, townRate follows:
//
//	go test ./schedule -run '^$' -bench 'SolveTownWork/town42/10s' -benchtime 1x
//
// Each town and effort runs with solver seeds 1 to 3 (-town-seeds): one
// run says little, since plans of one town at the same effort spread by
// up to 7 % in km from seed to seed, more than 10 s and 60 s differ by.
// Compare means: each town ends with a "means" line, the mean km and its
// spread at each effort run, the runs, the mean weight served, and the gap
// between the two efforts with its standard error (all of it takes about
// 20 minutes on a quiet 2-core machine):
//
//	go test ./schedule -run '^$' -bench 'SolveTownWork' -benchtime 1x -timeout 1h
//
// The README's 24 seeds of towns 44 and 46 (about five hours):
//
//	go test ./schedule -run '^$' -bench 'SolveTownWork/town4[46]' -benchtime 1x -timeout 6h -args -town-seeds 1-24
//
// Other efforts with -town-efforts; whether the 60 s runs have settled
// (the 120 s runs in schedule/TUNING.md, about 75 minutes):
//
//	go test ./schedule -run '^$' -bench 'SolveTownWork/town4[46]' -benchtime 1x -timeout 3h -args -town-efforts 60,120 -town-seeds 1-12
func BenchmarkSolveTownWork(b *testing.B) {
	// Work units a thread does in a second on a town day, quiet 2-core VM:
	// 10s-equivalents took 13.0 CPU-seconds at 60M (town 46) once
	// insertion read a visit's legs from its own rows (16.0 before), and
	// 60s-equivalents 83–86 (97 before). Once recreate skipped routes by
	// their distance bound, timed 10 s runs of towns 42–46 did 70–97M
	// units a second per thread (mean 87M; town 46 the slowest). Stopping
	// early on rejected candidates and skipping full routes made a unit a
	// little cheaper (10s-equivalents, seed 1, builds interleaved: 16.5
	// against 19.4 CPU-seconds on a quiet VM, 22.8 against 23.8 on a slow
	// one) and an iteration cheaper in units; the rate stays, so a
	// 10s-equivalent takes at most 10 s here. On 2026-11-26 the VM was
	// slower (a 10s-equivalent took 11.4-15.9 s of wall time, seed 1,
	// towns 44 and 46) until recreate walked each visit's own list of
	// routes (10.4-13.0 s after, the same plans).
	const townRate = 85e6
	compareTowns(b, func(p *schedule.Problem, secs int64, seed uint64) (*schedule.Plan, error) {
		return schedule.Solve(context.Background(), p, schedule.Options{Work: secs * townRate, Seed: seed, Threads: 2})
	}, "s-equivalent")
}

// compareTowns runs solve on the five towns at the two efforts of
// -town-efforts with the seeds of -town-seeds, and ends each town with a
// "means" line (see BenchmarkSolveTownWork); label follows the effort in
// the runs' names.
func compareTowns(b *testing.B, solve func(p *schedule.Problem, secs int64, seed uint64) (*schedule.Plan, error), label string) {
	first, last, err := seedRange(*townSeeds)
	if err != nil {
		b.Fatal(err)
	}
	efforts, err := effortPair(*townEfforts)
	if err != nil {
		b.Fatal(err)
	}
	type effort struct {
		town uint64
		secs int64
	}
	type result struct {
		km     float64
		weight int
	}
	// Per effort and seed: a seed gives the same plan however often the
	// framework runs it (-count).
	results := map[effort]map[uint64]result{}
	summary := func(e effort) (km []float64, weight float64) {
		for _, seed := range slices.Sorted(maps.Keys(results[e])) {
			r := results[e][seed]
			km = append(km, r.km)
			weight += float64(r.weight)
		}
		return km, weight / float64(len(km))
	}
	for _, townSeed := range []uint64{42, 43, 44, 45, 46} {
		for _, secs := range efforts {
			e := effort{townSeed, secs}
			for seed := first; seed <= last; seed++ {
				b.Run(fmt.Sprintf("town%d/%d%s/seed%d", townSeed, secs, label, seed), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						p := town(townSeed, 50, 400, 1)
						c0 := processCPU()
						pl, err := solve(p, secs, seed)
						if err != nil {
							b.Fatal(err)
						}
						b.ReportMetric((processCPU() - c0).Seconds(), "cpu-s")
						b.ReportMetric(pl.Meters/1000, "km")
						b.ReportMetric(float64(pl.Weight), "weight")
						b.ReportMetric(float64(len(pl.Unassigned)), "unassigned")
						if results[e] == nil {
							results[e] = map[uint64]result{}
						}
						results[e][seed] = result{pl.Meters / 1000, pl.Weight}
					}
				})
			}
		}
		// The means of the seeds run, as one more line: km-10s, km-60s
		// (or the efforts asked for), their standard deviations, runs, mean
		// weight served, and the gap between the two efforts with its
		// standard error.
		b.Run(fmt.Sprintf("town%d/means", townSeed), func(b *testing.B) {
			var m, sd [2]float64
			for k, secs := range efforts {
				xs, w := summary(effort{townSeed, secs})
				if len(xs) == 0 {
					continue
				}
				m[k], sd[k] = meanSD(xs)
				b.ReportMetric(m[k], fmt.Sprintf("km-%ds", secs))
				if len(xs) > 1 {
					b.ReportMetric(sd[k], fmt.Sprintf("sd-%ds", secs))
				}
				b.ReportMetric(float64(len(xs)), fmt.Sprintf("runs-%ds", secs))
				b.ReportMetric(w, fmt.Sprintf("weight-%ds", secs))
			}
			short, long := len(results[effort{townSeed, efforts[0]}]), len(results[effort{townSeed, efforts[1]}])
			if short > 0 && long > 0 {
				b.ReportMetric((m[0]/m[1]-1)*100, "gap-%")
				if short > 1 && long > 1 {
					b.ReportMetric(math.Sqrt(sd[0]*sd[0]/float64(short)+sd[1]*sd[1]/float64(long))/m[1]*100, "se-%")
				}
			}
		})
	}
}

// townSeeds is the range of solver seeds BenchmarkSolveTownWork runs on
// each town and effort.
var townSeeds = flag.String("town-seeds", "1-3", "solver seeds `FIRST-LAST` that BenchmarkSolveTownWork runs on each town and effort")

// townEfforts is the pair of efforts, in seconds, that
// BenchmarkSolveTownWork compares on each town: the target is
// 10 s against 60 s; 60,120 shows whether 60 s has settled.
var townEfforts = flag.String("town-efforts", "10,60", "efforts `SHORT,LONG` in seconds that BenchmarkSolveTownWork compares")

// effortPair parses "SHORT,LONG" into two whole numbers of seconds,
// SHORT below LONG.
func effortPair(s string) ([2]int64, error) {
	a, z, ok := strings.Cut(s, ",")
	short, err1 := strconv.ParseInt(a, 10, 64)
	long, err2 := strconv.ParseInt(z, 10, 64)
	if !ok || err1 != nil || err2 != nil || short < 1 || long <= short {
		return [2]int64{}, fmt.Errorf("-town-efforts %q: want SHORT,LONG in whole seconds, 1 <= SHORT < LONG", s)
	}
	return [2]int64{short, long}, nil
}

// seedRange parses "FIRST-LAST" (or one seed) into a range of seeds from 1 up.
func seedRange(s string) (first, last uint64, err error) {
	a, z, ok := strings.Cut(s, "-")
	if !ok {
		z = a
	}
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(z, 10, 64)
	if err1 != nil || err2 != nil || first < 1 || last < first {
		return 0, 0, fmt.Errorf("-town-seeds %q: want FIRST-LAST, 1 <= FIRST <= LAST", s)
	}
	return first, last, nil
}

// meanSD is the mean and sample standard deviation of xs (sd 0 for one).
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}
