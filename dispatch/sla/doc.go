// Package sla computes service-level due times for reports: a business
// calendar (time zone, weekly hours, holidays), per-kind and per-priority
// targets counted in business or wall-clock time, and the clock that stops
// while a report waits on the customer.
//
// Everything here is pure: no database, no HTTP and no clock reads. Callers
// pass "now" explicitly, so a test can stand on a Sunday night in December.
//
// Instants may be given in any location; the calendar converts them to its
// own zone before it looks at wall clocks, and returns instants in its zone.
// Business time is real elapsed time while the calendar is open, so on a day
// when the clocks change an opening that spans the change is an hour longer or
// shorter than its wall-clock length.
package sla
