package dispatch_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"despacho/dispatch"
)

func mx(tb testing.TB, s string) time.Time {
	tb.Helper()
	loc, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		tb.Fatal(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func price(c dispatch.Centavos) *dispatch.Centavos { return &c }

func TestCompensationAmounts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		price      dispatch.Centavos
		start, end string
		bonus      int
		want       dispatch.Centavos
	}{
		// 300.00 a month, November has 30 days: one day is 10.00, plus 20 % = 12.00.
		{"one day in november", 30000, "2026-11-10 00:00", "2026-11-11 00:00", 0, 1200},
		// Six hours of a 31-day month at 349.00: 349 × 6/744 = 2.814516… × 1.2 = 3.3774… → 3.38.
		{"partial day", 34900, "2026-12-01 08:00", "2026-12-01 14:00", 0, 338},
		{"zero length", 34900, "2026-12-01 08:00", "2026-12-01 08:00", 0, 0},
		// A whole month is the whole price plus the bonus.
		{"whole february", 49900, "2026-02-01 00:00", "2026-03-01 00:00", 0, 59880},
		{"whole leap february", 49900, "2028-02-01 00:00", "2028-03-01 00:00", 0, 59880},
		// One day of February: 1/28 in 2026, 1/29 in 2028.
		// 280.00/28 = 10.00 × 1.2 = 12.00; 290.00/29 = 10.00 × 1.2 = 12.00.
		{"a day of february", 28000, "2026-02-10 00:00", "2026-02-11 00:00", 0, 1200},
		{"a day of leap february", 29000, "2028-02-10 00:00", "2028-02-11 00:00", 0, 1200},
		// Across the month end: 12 h of January (31 d) + 12 h of February 2026 (28 d) at
		// 300.00: 300×(12/744 + 12/672) = 4.838709… + 5.357142… = 10.195852… × 1.2 =
		// 12.235023… → 12.24.
		{"across january end", 30000, "2026-01-31 12:00", "2026-02-01 12:00", 0, 1224},
		// Across a leap February's end: 12 h of Feb 2028 (29 d) + 12 h of March (31 d).
		// 300×(12/696 + 12/744) = 5.172413… + 4.838709… = 10.011123… × 1.2 = 12.013348 → 12.01.
		{"across leap february end", 30000, "2028-02-29 12:00", "2028-03-01 12:00", 0, 1201},
		// Across two month ends, 310.00 a month: the last day of October (31 d) 10.00, all of
		// November 310.00, the first day of December (31 d) 10.00: 330.00 × 1.2 = 396.00.
		{"three months", 31000, "2026-10-31 00:00", "2026-12-02 00:00", 0, 39600},
		{"bonus 25 percent", 30000, "2026-11-10 00:00", "2026-11-11 00:00", 2500, 1250},
		// 0.01 a month for half of November: 0.005 × 1.2 = 0.006 → 0.01.
		{"half-up rounding", 1, "2026-11-01 00:00", "2026-11-16 00:00", 0, 1},
		{"free plan", 0, "2026-11-01 00:00", "2026-11-16 00:00", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dispatch.CompensationPolicy{BonusBP: c.bonus}
			got, err := p.Compute(price(c.price), mx(t, c.start), mx(t, c.end), true)
			if err != nil {
				t.Fatal(err)
			}
			if got.Amount != c.want {
				t.Fatalf("amount = %s, want %s", got.Amount, c.want)
			}
			if got.Currency != "MXN" || !got.Upheld {
				t.Fatalf("compensation = %+v", got)
			}
		})
	}
}

func TestCompensationExactHalf(t *testing.T) {
	t.Parallel()
	// 0.05 a month for 1 day of November (30 d) with a 50 % bonus: 0.0025 → 0.00.
	got, err := dispatch.CompensationPolicy{BonusBP: 5000}.Compute(price(5), mx(t, "2026-11-01 00:00"), mx(t, "2026-11-02 00:00"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Amount != 0 {
		t.Fatalf("0.0025 rounds to %s, want 0.00", got.Amount)
	}
	// 0.05 a month for a quarter of November (7.5 d) with 20 %: exactly 0.015 → half-up 0.02.
	got, err = dispatch.CompensationPolicy{}.Compute(price(5), mx(t, "2026-11-01 00:00"), mx(t, "2026-11-08 12:00"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Amount != 2 {
		t.Fatalf("0.015 rounds to %s, want 0.02", got.Amount)
	}
}

func TestCompensationErrors(t *testing.T) {
	t.Parallel()
	start, end := mx(t, "2026-11-10 00:00"), mx(t, "2026-11-11 00:00")
	cases := []struct {
		name       string
		policy     dispatch.CompensationPolicy
		price      *dispatch.Centavos
		start, end time.Time
		field      string
	}{
		{"restore before start", dispatch.CompensationPolicy{}, price(30000), end, start, "restored_at"},
		{"no restore", dispatch.CompensationPolicy{}, price(30000), start, time.Time{}, "restored_at"},
		{"missing plan price", dispatch.CompensationPolicy{}, nil, start, end, "plan_price"},
		{"negative plan price", dispatch.CompensationPolicy{}, price(-1), start, end, "plan_price"},
		{"bonus below the regulation", dispatch.CompensationPolicy{BonusBP: 1999}, price(30000), start, end, "bonus"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.policy.Compute(c.price, c.start, c.end, true)
			var de *dispatch.Error
			if !asError(err, &de) || de.Kind != dispatch.KindInvalid || de.Field != c.field {
				t.Fatalf("error = %v, want invalid %s", err, c.field)
			}
		})
	}
}

func asError(err error, target **dispatch.Error) bool {
	e, ok := err.(*dispatch.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestCompensationNotUpheld(t *testing.T) {
	t.Parallel()
	// Not upheld: nothing owed, and no plan price needed.
	got, err := dispatch.CompensationPolicy{}.Compute(nil, mx(t, "2026-11-10 00:00"), mx(t, "2026-11-20 00:00"), false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Amount != 0 || got.Upheld {
		t.Fatalf("not upheld = %+v, want nothing owed", got)
	}
	// Times are still checked.
	if _, err := (dispatch.CompensationPolicy{}).Compute(nil, mx(t, "2026-11-20 00:00"), mx(t, "2026-11-10 00:00"), false); dispatch.ErrorKind(err) != dispatch.KindInvalid {
		t.Fatalf("not upheld, end before start: %v, want invalid", err)
	}
}

func TestOutageStart(t *testing.T) {
	t.Parallel()
	inc := mx(t, "2026-11-10 08:00")
	early, late := mx(t, "2026-11-10 07:00"), mx(t, "2026-11-10 09:30")
	if got := dispatch.OutageStart(inc, nil); !got.Equal(inc) {
		t.Errorf("no reported start: got %v, want %v", got, inc)
	}
	if got := dispatch.OutageStart(inc, &early); !got.Equal(inc) {
		t.Errorf("reported before the incident: got %v, want %v", got, inc)
	}
	if got := dispatch.OutageStart(inc, &late); !got.Equal(late) {
		t.Errorf("reported after the incident: got %v, want %v", got, late)
	}
}

// TestOutageSpan: a customer is paid from the incident's start (or his own later failure)
// until the incident's restore, or his own earlier restore by his visit.
func TestOutageSpan(t *testing.T) {
	t.Parallel()
	inc, restored := mx(t, "2026-11-10 08:00"), mx(t, "2026-11-10 20:00")
	p := func(s string) *time.Time { v := mx(t, s); return &v }
	for _, c := range []struct {
		name               string
		reported, own      *time.Time
		wantStart, wantEnd time.Time
	}{
		{"attached and resolved by the incident", nil, nil, inc, restored},
		{"his own failure later", p("2026-11-10 09:30"), nil, mx(t, "2026-11-10 09:30"), restored},
		{"restored by his visit", nil, p("2026-11-10 11:00"), inc, mx(t, "2026-11-10 11:00")},
		{"his restore after the incident's", nil, p("2026-11-10 21:00"), inc, restored},
		{"failed after his restore", p("2026-11-10 12:00"), p("2026-11-10 11:00"), mx(t, "2026-11-10 11:00"), mx(t, "2026-11-10 11:00")},
		{"restored before the incident began", nil, p("2026-11-10 07:00"), mx(t, "2026-11-10 07:00"), mx(t, "2026-11-10 07:00")},
		{"failed after the incident's restore", p("2026-11-10 21:00"), nil, restored, restored},
	} {
		start, end := dispatch.OutageSpan(inc, restored, c.reported, c.own)
		if !start.Equal(c.wantStart) || !end.Equal(c.wantEnd) {
			t.Errorf("%s: %s – %s; want %s – %s", c.name, start, end, c.wantStart, c.wantEnd)
		}
	}
}

func TestMonthShareSumsToOne(t *testing.T) {
	t.Parallel()
	// A month with a daylight-saving change still counts as exactly one month.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	s := time.Date(2026, 3, 1, 0, 0, 0, 0, ny)
	e := time.Date(2026, 4, 1, 0, 0, 0, 0, ny)
	if got := dispatch.MonthShare(s, e, ny); got.Cmp(big.NewRat(1, 1)) != 0 {
		t.Fatalf("March in New York = %s months, want 1", got.RatString())
	}
	if got := dispatch.MonthShare(e, s, ny); got.Sign() != 0 {
		t.Fatalf("reversed = %s, want 0", got.RatString())
	}
}

func TestParseCentavos(t *testing.T) {
	t.Parallel()
	good := map[string]dispatch.Centavos{"349": 34900, "349.5": 34950, "349.05": 34905, "$1,299.00": 129900, "0": 0, ".5": 50,
		"12,345,678": 1234567800}
	for in, want := range good {
		got, err := dispatch.ParseCentavos("plan_price", in)
		if err != nil || got != want {
			t.Errorf("ParseCentavos(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// A comma is a thousands separator only where one goes: "349,50" (a decimal comma, as
	// spreadsheets in Spain or Argentina write it) used to read as 34,950.00.
	for _, in := range []string{"", "-1", "1.234", "abc", "1.", "1e3", "12345678901", "NaN",
		"349,50", "349,5", "1,2345", ",349", "1,,000", "1,000,00", "349,", "1,349.5,0"} {
		if _, err := dispatch.ParseCentavos("plan_price", in); dispatch.ErrorKind(err) != dispatch.KindInvalid {
			t.Errorf("ParseCentavos(%q) error = %v, want invalid", in, err)
		}
	}
	for c, want := range map[dispatch.Centavos]string{0: "0.00", 5: "0.05", 34950: "349.50", -120: "-1.20"} {
		if got := c.String(); got != want {
			t.Errorf("Centavos(%d) = %q, want %q", int64(c), got, want)
		}
	}
	b, _ := json.Marshal(struct{ A dispatch.Centavos }{34900})
	if string(b) != `{"A":"349.00"}` {
		t.Errorf("JSON = %s", b)
	}
	var back struct{ A dispatch.Centavos }
	if err := json.Unmarshal([]byte(`{"A":349.5}`), &back); err != nil || back.A != 34950 {
		t.Errorf("unmarshal number = %v, %v", back.A, err)
	}
}

func ExampleCompensationPolicy_Compute() {
	mexico, _ := time.LoadLocation("America/Mexico_City")
	price := dispatch.Centavos(34900) // 349.00 MXN a month
	// Nine hours without service across the end of January 2026 (31 days) into February (28).
	start := time.Date(2026, 1, 31, 20, 0, 0, 0, mexico)
	end := time.Date(2026, 2, 1, 5, 0, 0, 0, mexico)
	c, err := dispatch.CompensationPolicy{}.Compute(&price, start, end, true)
	if err != nil {
		panic(err)
	}
	// 349 × 4 h/744 h + 349 × 5 h/672 h = 1.876… + 2.596… = 4.473…; × 1.20 = 5.3676… → 5.37.
	fmt.Println(c.Amount, c.Currency, c.OutageMinutes(), "min")
	// Output: 5.37 MXN 540 min
}

func TestParseBonus(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"20": 2000, "25%": 2500, " 22.5 % ": 2250, "1000": 100000} {
		if got, err := dispatch.ParseBonus(in); err != nil || got != want {
			t.Errorf("ParseBonus(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "19.99", "0", "-20", "abc", "1000.01", "20.001"} {
		if _, err := dispatch.ParseBonus(in); dispatch.ErrorKind(err) != dispatch.KindInvalid {
			t.Errorf("ParseBonus(%q) error = %v, want invalid", in, err)
		}
	}
}
