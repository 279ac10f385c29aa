// Package schedule assigns field visits to technicians and orders each
// technician's day: a vehicle routing problem with time windows, skills,
// shifts, breaks, capacities, pins and hour-dependent travel. It is pure Go:
// no database, no HTTP, no clock reads (the caller's ctx and
// Options.TimeLimit bound a search), and it imports nothing else of ours.
//
// # Model
//
// Every Technician shift is one route from the start location to the end
// location. A Visit is served once, starting within one of its hard
// Windows, by a technician holding all its Skills. A shift's Break is a
// stop without a place: the technician pauses where the previous stop was.
// Travel gives free-flow legs (Haversine or a Matrix); Congestion scales
// them by hour of day by integrating the factor over the leg, so travel
// stays FIFO.
//
// # Objective
//
// Hierarchical: first the largest sum of 1+Priority over assigned visits,
// then the least distance. Windows are hard, so a plan is never late;
// a visit that does not fit is Unassigned with a Reason (NoSkill, NoShift,
// WindowUnreachable, OverCapacity and BadPin are found up front; NoRoom
// means it fits alone but not alongside the rest).
//
// # Algorithm
//
// Construction builds two starts and keeps the better: regret-3 insertion
// (each step places the visit whose best route is furthest ahead of its
// next two, so visits with few places to go are placed before those fill
// up) and cheapest insertion in priority order. On the generated service
// days regret starts assign more priority weight with less distance
// (e.g. 796 vs 793, 954 vs 1013 km); on Solomon instances neither wins
// everywhere. As a recreate operator inside the search, regret did not pay
// for its extra evaluations, so recreate stays greedy.
//
// Improvement is SISR (Christiaens & Vanden Berghe, "Slack induction by
// string removals", 2020): each
// iteration removes a few strings (or split strings) of consecutive
// visits from routes near a random seed visit, then reinserts the removed
// and unassigned visits greedily in a random, demand, far-first or
// close-first order, skipping each candidate position with probability
// 0.01 ("blinks"). Strings are at most 10 visits long, as in SISR, or 5
// on a day that starts on 30 routes or more: for the same number of
// visits removed, a ruin then reaches up to 6 routes instead of 4, which
// on the generated town days (50 routes of about 8 visits in 2 h windows)
// made two towns of five 0.2-1.3 % shorter at 10 s and 60 s and left the
// others as they were, and on Solomon's instances (at most 25 routes)
// doubled the gap to the best known. The
// result is accepted under simulated annealing; the
// temperature falls geometrically from 3× to 0.09× the mean leg length of
// the initial plan. Below about 0.1× almost no candidate is accepted on
// the generated days: a lower final temperature (0.003×, tried until
// 2026-11-26) left the second half of every run, 10 s or 60 s, on one plan.
//
// A result that assigns more weight is always accepted. One that leaves
// more weight out, when the visits it drops really fit nowhere (not just
// skipped by blinks), is annealed too, with each unit of weight priced at
// ten mean legs: early, while the temperature is high, a full day may
// give up a visit to reshape, so that the search does not settle on the
// first set of visits it manages to fit. While the current plan leaves a
// visit out, about one iteration in three instead empties that visit's
// time window on one to four routes that could serve it (near ones
// first) and reinserts it first: a visit left out is typically blocked by
// a time slot that its skilled technicians have filled with work others
// could do. The best plan is still judged weight first, then distance.
// On the generated days (towns 42-46, 10 s of planned work) these assign
// one or two more units of weight on each of the three towns that leave
// visits out, at about the same distance, and change Solomon's results
// only where blinks drop a customer (their full fleets always have room).
//
// Insertion checks are constant time. Each route caches, per position, the
// earliest departure (forward) and the latest feasible start (backward):
// because waiting is allowed, the arrivals at a position that keep the rest
// of the route feasible form a half-line even with several windows per
// visit, and a FIFO travel function keeps it so; inserting v after
// position p is feasible iff v can start in a window and the arrival at p+1
// is no later than its latest start. Only an insertion right before a
// break walks forward, since the break then moves to v's place.
//
// Most routes are too far from a visit to hold its cheapest place, and
// recreate does not try them. It walks the visit's 40 nearest neighbours
// and tries their routes first, then judges every other route by a lower
// bound on what inserting there adds: all of that route's visits are at
// least as far as the last neighbour walked, so a leg between two of them
// grows by at least twice that distance less the route's longest such
// leg (and likewise next to home, with the real distance from home).
// With travel that obeys the triangle inequality the places found are the
// ones a scan of every route finds; a town day tries 60 % fewer routes
// and runs about 35 % more iterations in 10 s. Asymmetric travel tries
// every route. The scan goes only over the technicians who may take the
// visit at all (skills, shifts: listed per visit when the problem is
// compiled), and reads each one's legs from and to home from one row per
// visit: on the town days, where a visit needs one of four skills, the
// same plans take 12-16 % less CPU than with every route checked in turn.
//
// Three more shortcuts change no decision. The annealing's acceptance
// threshold is drawn before recreate, and recreate stops on a candidate
// as soon as its distance passes the threshold while it can no longer
// serve more weight than the plan it came from: insertions only add
// distance, so only candidates that would be rejected are cut short (about
// half of them, late in the run). Every route carries a version, fresh on
// each change and unique across threads; recreate remembers the version
// of each route on which a visit found no place at all, and a visit the
// plan leaves out is then tried only on routes changed since, instead of
// every route every iteration. Copying a plan skips the routes already at
// the same version. Together, on the generated town days, they run about
// 30 % more iterations per CPU second.
//
// Search effort is planned in units of work (insertion positions
// evaluated), not time: Options.TimeLimit is converted at a fixed rate, so
// the search trajectory depends only on the seed and thread count. Each
// thread runs its own annealing; at 20 fixed points of the plan they meet,
// and the threads behind adopt the best plan (lowest cost, ties to the
// lowest thread). In the second half of the plan, a thread whose current
// plan serves less weight than the best also goes back to the best: the
// annealing prices a left-out visit, and a trajectory that traded one for
// distance may never win it back, which left the best an early,
// unpolished plan (town 44, seed 4: 758.8 km against 664.4 with the rule,
// the same weight). In the first half such a trade is left alone: going
// back at every meeting point served one unit of weight less on 6 of 36
// town days at 10 s (towns 42-44, seeds 1-12) and one more on one. A run
// whose planned work completes is therefore reproducible; a deadline or
// cancelled ctx stops early with the best plan so far. With Options.Clock
// set, a search that falls behind its plan (a busy machine) cools on
// elapsed time instead, so it still reaches its final temperature at the
// deadline; local search (2-opt*, relocate) polishes the best plan at every meeting point
// without disturbing the annealing. 2-opt* trades
// tails between technicians with different home bases and breaks: each
// route keeps its own end, and when both breaks fall in the moved tails,
// they trade places (a move that would leave a route with two breaks or
// none is skipped).
//
// # Incremental operations
//
// Insert adds one visit at its cheapest feasible position without
// reordering anyone (milliseconds: it extends the compiled travel tables
// by one location instead of recompiling). Slots tries each business-hours
// window for a new visit the same way and offers only those Insert would
// honour. Reoptimize restarts the search from an existing plan; started
// visits stay first, position-pinned visits keep their technician and
// order, and every window — every promise — holds throughout.
package schedule
