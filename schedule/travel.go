package schedule

import (
	"math"
	"time"
)

// Travel gives the free-flow leg between two locations: seconds of driving
// and meters of distance. Implementations must be safe for concurrent use
// and return zero for a location to itself.
type Travel interface {
	Leg(from, to Location) (seconds, meters float64)
}

// Haversine is straight-line travel over the Earth's surface at Speed, plus a
// fixed Overhead per leg (parking, walking to the door). A leg between two
// identical coordinates costs nothing.
type Haversine struct {
	// Speed in meters per second; 0 means 30 km/h.
	Speed float64
	// Overhead is added to every leg of non-zero length.
	Overhead time.Duration
}

const earthRadius = 6371008.8 // meters, mean radius

// Leg implements Travel.
func (h Haversine) Leg(a, b Location) (float64, float64) {
	if a.Lat == b.Lat && a.Lon == b.Lon {
		return 0, 0
	}
	speed := h.Speed
	if speed <= 0 {
		speed = 30 / 3.6
	}
	const rad = math.Pi / 180
	dlat := (b.Lat - a.Lat) * rad
	dlon := (b.Lon - a.Lon) * rad
	s := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	m := 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(s)))
	return h.Overhead.Seconds() + m/speed, m
}

// Matrix is travel looked up by Location.ID in dense row-major N×N tables,
// as a road-network engine or a benchmark would provide.
type Matrix struct {
	N       int
	Seconds []float64
	Meters  []float64
}

// Leg implements Travel; it panics on an ID outside [0, N).
func (m *Matrix) Leg(a, b Location) (float64, float64) {
	k := a.ID*m.N + b.ID
	return m.Seconds[k], m.Meters[k]
}

// Congestion slows travel by hour of day: a leg driven during hour h takes
// Factor[h] times its free-flow time (1 = free flow; 0 is read as 1). The
// factor applies to the part of the leg inside each hour, which keeps
// travel FIFO: leaving later never gets you there earlier.
type Congestion struct {
	Factor [24]float64
}

// congestion is Congestion compiled to the solver's clock (seconds since the
// Unix epoch, shifted by the zone offset).
type congestion struct {
	f      [24]float64
	offset float64 // seconds to add to a UTC Unix time to get local time
}

func (c *congestion) factor(h int) float64 {
	if f := c.f[h]; f > 0 {
		return f
	}
	return 1
}

// arrive returns the arrival time of a leg of free-flow length d leaving at t.
func (c *congestion) arrive(t, d float64) float64 {
	if math.Abs(t) > 1e14 { // unbounded windows: no hour to speak of
		return t + d
	}
	for d > 0 {
		local := t + c.offset
		h := int(math.Mod(math.Floor(local/3600), 24))
		if h < 0 {
			h += 24
		}
		f := c.factor(h)
		boundary := (math.Floor(local/3600)+1)*3600 - c.offset
		span := boundary - t
		if d*f <= span {
			return t + d*f
		}
		d -= span / f
		t = boundary
	}
	return t
}

// leave returns the latest departure for a leg of free-flow length d that
// arrives by t.
func (c *congestion) leave(t, d float64) float64 {
	if math.Abs(t) > 1e14 {
		return t - d
	}
	for d > 0 {
		local := t + c.offset
		fl := math.Ceil(local/3600) - 1
		h := int(math.Mod(fl, 24))
		if h < 0 {
			h += 24
		}
		f := c.factor(h)
		boundary := fl*3600 - c.offset
		span := t - boundary
		if d*f <= span {
			return t - d*f
		}
		d -= span / f
		t = boundary
	}
	return t
}
