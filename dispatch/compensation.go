package dispatch

import (
	"math/big"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // month boundaries are taken in the business zone, present or not on the host
)

// Compensation owed for an outage, under NOM-184-SCFI-2018 (the Mexican standard on
// telecommunication service contracts): when service is not provided for causes
// attributable to the provider, the customer is owed the proportional part of the price for
// the time without service plus a bonus of at least 20 % of that amount.
//
// The rules this package applies, each a choice the regulation leaves open:
//
//   - Attributable: a report whose verdict is upheld (procedente). A report not upheld is
//     owed nothing, and needs no plan price.
//   - Outage: from OutageStart (the incident's start, or the customer's own reported start
//     when that is later: a customer whose service failed after the incident began is owed
//     from their own failure) until service was restored: the incident's restore, or his
//     own when his visit restored it earlier (OutageSpan). Zero length owes nothing; an end
//     before the start is an error.
//   - Proportional price: the monthly plan price × the share of each calendar month the
//     outage covers, taken in the business zone. An outage across a month end is split, and
//     each piece is divided by the length of its own month (28, 29, 30 or 31 days; the
//     time between the month's first instant and the next month's, so a month with a
//     daylight-saving change still sums to exactly one price).
//   - Bonus: policy.BonusBP basis points on top (2000 = 20 %); never below MinBonusBP.
//   - Money is exact: integer centavos and rational arithmetic (math/big), no floats.
//     The final amount is rounded once, half-up to the centavo (a half centavo goes to the
//     customer).
//   - Once per report, and kept: see Compensation.Standing for a report reopened after its
//     compensation was computed.

// Currency is the ISO 4217 code of every amount this service handles.
const Currency = "MXN"

// MinBonusBP is the smallest bonus NOM-184-SCFI-2018 allows, in basis points: 20 %.
const MinBonusBP = 2000

// Centavos is an amount of Mexican pesos in centavos (hundredths of a peso). Amounts are
// never floats.
type Centavos int64

// String formats c as pesos with two decimals: "1234.50", "-0.05".
func (c Centavos) String() string {
	sign := ""
	n := int64(c)
	if n < 0 {
		sign, n = "-", -n
	}
	frac := strconv.FormatInt(n%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(n/100, 10) + "." + frac
}

// maxPesos bounds parsed amounts well inside int64 centavos and inside the database's
// numeric(12,2) columns.
const maxPesos = 9_999_999_999

// ParseCentavos reads a non-negative amount of pesos written with at most two decimals
// ("299", "299.5", "1299.00"; a leading "$" and commas between thousands, "1,299.00", are
// accepted; a comma anywhere else is refused). field names the input in errors.
func ParseCentavos(field, s string) (Centavos, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$")
	if strings.Contains(s, ",") {
		if !thousands(s) {
			return 0, Invalid(field, "is not an amount in pesos: a comma only separates thousands, decimals go after a point (e.g. 1,349.50)")
		}
		s = strings.ReplaceAll(s, ",", "")
	}
	if s == "" {
		return 0, Invalid(field, "is required")
	}
	if strings.HasPrefix(s, "-") {
		return 0, Invalid(field, "must not be negative")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return 0, Invalid(field, "is not an amount in pesos (e.g. 349.00)")
	}
	if len(frac) > 2 {
		return 0, Invalid(field, "has more than two decimals")
	}
	if len(whole) > 10 {
		return 0, Invalid(field, "is too large")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > maxPesos {
		return 0, Invalid(field, "is too large")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return Centavos(w*100 + f), nil
}

// MarshalJSON writes c as a JSON string of pesos with two decimals ("349.00"), so that no
// client reads money through a float.
func (c Centavos) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// UnmarshalJSON reads pesos from a JSON string ("349.00") or number (349.5), at most two
// decimals, not negative.
func (c *Centavos) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseCentavos("amount", s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// thousands reports whether the commas of s, an amount in pesos, all separate groups of
// three digits of its whole part ("1,349.50", "12,345,678"): "349,50" is a decimal comma,
// which must not read as 34,950.
func thousands(s string) bool {
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Contains(frac, ",") {
		return false
	}
	groups := strings.Split(whole, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CompensationPolicy holds the configurable parts of the compensation rule. The zero value
// is the regulation's minimum (20 % bonus) with months taken in America/Mexico_City.
type CompensationPolicy struct {
	// BonusBP is the bonus on top of the proportional price, in basis points (2500 = 25 %).
	// Zero means MinBonusBP; a value below MinBonusBP is refused by Validate and Compute.
	BonusBP int
	// Zone is where calendar months begin and end; nil means America/Mexico_City.
	Zone *time.Location
}

// Validate reports a policy the regulation does not allow.
func (p CompensationPolicy) Validate() error {
	if p.BonusBP != 0 && (p.BonusBP < MinBonusBP || p.BonusBP > 100_000) {
		return Invalid("bonus", "must be between %d and 100000 basis points (NOM-184-SCFI-2018 requires at least 20 %%)", MinBonusBP)
	}
	return nil
}

// ParseBonus reads a configured bonus percentage ("20", "25%", "22.5") and returns it in
// basis points; less than the regulation's 20 % or more than 1000 % is refused.
func ParseBonus(s string) (int, error) {
	bp, err := ParseCentavos("bonus", strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if err != nil {
		return 0, Invalid("bonus", "must be a percentage such as 20 or 25.5")
	}
	p := CompensationPolicy{BonusBP: int(bp)}
	if bp == 0 || p.Validate() != nil {
		return 0, Invalid("bonus", "must be between 20 %% (NOM-184-SCFI-2018) and 1000 %%")
	}
	return int(bp), nil
}

// Bonus returns the bonus in effect, in basis points.
func (p CompensationPolicy) Bonus() int {
	if p.BonusBP == 0 {
		return MinBonusBP
	}
	return p.BonusBP
}

var mexicoCity = func() *time.Location {
	loc, err := time.LoadLocation("America/Mexico_City")
	if err != nil { // impossible with time/tzdata linked in
		return time.FixedZone("CST", -6*3600)
	}
	return loc
}()

func (p CompensationPolicy) zone() *time.Location {
	if p.Zone == nil {
		return mexicoCity
	}
	return p.Zone
}

// Compensation is what one report's customer is owed for one outage.
//
// A reopened report keeps its compensation. It is computed once, when the incident the
// report is attached to is resolved (AsOf), for the outage from OutageStart to OutageEnd;
// from then on it is owed, and the billing export may already have put it on the
// customer's bill. So:
//
//   - Reopening the report (the customer answers that service is still down, or staff
//     reopen it) neither cancels nor changes it: the provider's outage until OutageEnd did
//     happen and stays owed, whatever follows. The report shows it as of the earlier
//     resolution (EarlierResolution), not as the outcome of the report as it now stands,
//     and the reopening's step on the timeline says it was kept.
//   - Resolving the report again computes nothing and adds nothing: an incident is resolved
//     once and pays its outage once per report (and once per customer). The new resolution's
//     step on the timeline says the earlier compensation was kept. Time without service
//     after OutageEnd is the reopened report's own fault: its new resolution says whether it
//     was upheld, and staff settle any further amount with the customer.
type Compensation struct {
	// Amount owed, rounded half-up to the centavo; zero when not upheld or zero-length.
	Amount   Centavos `json:"amount"`
	Currency string   `json:"currency"`
	// OutageStart and OutageEnd bound the time without service that is paid for.
	OutageStart time.Time `json:"outage_start"`
	OutageEnd   time.Time `json:"outage_end"`
	// PlanPrice is the monthly price the amount was computed from; nil when not needed
	// (not upheld) and not known.
	PlanPrice *Centavos `json:"plan_price,omitempty"`
	BonusBP   int       `json:"bonus_bp"`
	Upheld    bool      `json:"upheld"`
	// IncidentID and IncidentFolio name the incident whose resolution computed it, and AsOf
	// is when that was; set once stored (zero as Compute returns it).
	IncidentID    int64     `json:"incident_id,omitempty"`
	IncidentFolio string    `json:"incident_folio,omitempty"`
	AsOf          time.Time `json:"as_of,omitzero"`
	// EarlierResolution says that the report no longer stands on the resolution that
	// computed the compensation: it was reopened since (and may have been resolved again).
	// The amount is still owed, as of AsOf. Set by Standing.
	EarlierResolution bool `json:"earlier_resolution"`
}

// Standing returns c, stored for report r, as it stands for r now: EarlierResolution is set
// unless r is resolved (or closed) by a resolution no later than c.AsOf — the incident's
// resolution that computed c, or, for a report its own visit resolved while the incident
// was still open, that earlier resolution. A report reopened since is active, or resolved
// again after c.AsOf (or cancelled after a reopening); see Compensation for the rule.
func (c Compensation) Standing(r *Report) Compensation {
	current := (r.Status == StatusResolved || r.Status == StatusClosed) && r.ResolvedAt != nil && !r.ResolvedAt.After(c.AsOf)
	c.EarlierResolution = !current
	return c
}

// OutageMinutes is the paid outage in whole minutes (rounded down), for people and exports.
func (c Compensation) OutageMinutes() int64 {
	return int64(c.OutageEnd.Sub(c.OutageStart) / time.Minute)
}

// OutageStart returns when a customer's service failed for the purpose of compensation: the
// incident's start, or the customer's reported start when that is later. A reported start
// before the incident is not taken: the provider's outage began at the incident start, and
// an earlier failure would be a fault of its own. A nil reported start means the incident's.
func OutageStart(incidentStart time.Time, reported *time.Time) time.Time {
	if reported != nil && reported.After(incidentStart) {
		return *reported
	}
	return incidentStart
}

// OutageSpan returns the outage a customer of an incident is compensated for: from
// OutageStart(incidentStart, reported) until the incident's restore, or until ownRestore
// when his own service came back before that. ownRestore is for a report closed while
// the incident was still open (his visit restored his service, and the technician said
// so): from then on he had service, and the regulation pays the time without it, so the
// incident's later restore does not lengthen his outage. A report closed without service
// restored (nil) was without service until the incident's restore, like the others. A
// start after the end (his service failed, or came back, outside the outage) is the end:
// zero length, nothing owed.
func OutageSpan(incidentStart, restored time.Time, reported, ownRestore *time.Time) (start, end time.Time) {
	end = restored
	if ownRestore != nil && ownRestore.Before(end) {
		end = *ownRestore
	}
	start = OutageStart(incidentStart, reported)
	if start.After(end) {
		start = end
	}
	return start, end
}

// Compute returns the compensation for an outage from start to end of a plan priced at
// planPrice a month. It refuses an end before the start (field "restored_at"), and, for an
// upheld report, a missing or negative plan price (field "plan_price"). A report not upheld
// is owed zero, whatever its price.
func (p CompensationPolicy) Compute(planPrice *Centavos, start, end time.Time, upheld bool) (Compensation, error) {
	if err := p.Validate(); err != nil {
		return Compensation{}, err
	}
	if start.IsZero() {
		return Compensation{}, Invalid("started_at", "is required")
	}
	if end.IsZero() {
		return Compensation{}, Invalid("restored_at", "is required")
	}
	if end.Before(start) {
		return Compensation{}, Invalid("restored_at", "is before the outage started (%s)", start.UTC().Format(time.RFC3339))
	}
	c := Compensation{Currency: Currency, OutageStart: start.UTC(), OutageEnd: end.UTC(), PlanPrice: planPrice, BonusBP: p.Bonus(), Upheld: upheld}
	if !upheld {
		return c, nil
	}
	if planPrice == nil {
		return Compensation{}, Invalid("plan_price", "is missing: the customer's monthly plan price is needed to compute the compensation")
	}
	if *planPrice < 0 {
		return Compensation{}, Invalid("plan_price", "must not be negative")
	}
	share := MonthShare(start, end, p.zone())
	owed := new(big.Rat).Mul(share, new(big.Rat).SetInt64(int64(*planPrice)))
	owed.Mul(owed, big.NewRat(int64(10_000+p.Bonus()), 10_000))
	c.Amount = Centavos(roundHalfUp(owed))
	return c, nil
}

// MonthShare returns how many months' worth of service the interval from start to end is:
// each piece within one calendar month of zone divided by that month's length, summed.
// It is zero when end is not after start.
func MonthShare(start, end time.Time, zone *time.Location) *big.Rat {
	sum := new(big.Rat)
	if !end.After(start) {
		return sum
	}
	cur := start.In(zone)
	for cur.Before(end) {
		y, m, _ := cur.Date()
		monthStart := time.Date(y, m, 1, 0, 0, 0, 0, zone)
		next := time.Date(y, m+1, 1, 0, 0, 0, 0, zone)
		pieceEnd := next
		if end.Before(pieceEnd) {
			pieceEnd = end.In(zone)
		}
		piece := pieceEnd.Sub(cur)
		month := next.Sub(monthStart)
		sum.Add(sum, big.NewRat(int64(piece), int64(month)))
		cur = next
	}
	return sum
}

// roundHalfUp rounds a non-negative rational to the nearest integer, halves up.
func roundHalfUp(r *big.Rat) int64 {
	num := new(big.Int).Mul(r.Num(), big.NewInt(2))
	num.Add(num, r.Denom())
	den := new(big.Int).Mul(r.Denom(), big.NewInt(2))
	return new(big.Int).Quo(num, den).Int64()
}
