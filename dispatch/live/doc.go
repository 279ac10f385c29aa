// Package live fans the event log out to browsers and phones over websockets: dispatchers'
// boards, technicians' routes and the customer's status page, on every instance behind the
// load balancer.
//
// # The problem with following event ids
//
// Every change writes its event in its own transaction (postgres.Events.Append) and the id
// is announced with NOTIFY at commit. Ids come from an identity, and identities are not
// committed in order: transaction A takes id 41, transaction B takes 42 and commits first. A
// reader that has sent 42 and moved its cursor there will never send 41. Three ways out were
// considered:
//
//   - Serialise every writer with pg_advisory_xact_lock before its insert. Simple, but every
//     write transaction in the system then queues on one lock from its event insert to its
//     commit, WAL flush included: with a durable disk that is 1–5 ms each, a hard cap of a few
//     hundred to a thousand writes per second for the whole service, below the 1,000 report
//     creations per second the API must sustain.
//   - Follow (tx_id, id) and only read rows of transactions older than the snapshot's xmin.
//     Correct, but the order clients see is xid order (an xid is assigned after nextval, so it
//     differs from id order), the client-facing position becomes a pair, and any long
//     transaction anywhere in the cluster — a migration, a report, an idle session left in a
//     transaction — freezes every live board until it ends.
//   - A sequencer that numbers committed events in the order it finds them. This is what we do.
//
// # The sequencer
//
// A trigger on events (migration 20261125000500_live) queues each new event id in
// live_pending inside the writer's transaction, so the queue entry commits or rolls back with
// the event; writers pay one small insert and never wait on each other. Sequence (run by
// every hub when it hears of new events, and every PollInterval) locks the single live_state
// row FOR UPDATE, deletes the committed entries from the queue and writes them to live_seq
// with the next numbers (seq), in event id order, then NOTIFYs the new last seq.
//
// Why readers can follow seq with a plain cursor: sequencing transactions run one at a time,
// because each holds the live_state row lock until it commits and the next one waits for it.
// PostgreSQL makes a transaction visible before it releases its locks, and a statement run
// after the lock is granted takes a fresh snapshot. So the transaction that numbers N+1… was
// granted the lock only after the one that numbered …N was visible, and any snapshot that
// sees N+1 also sees everything below it. Numbers are consecutive and never reused; only
// committed events are ever numbered (an uncommitted queue entry is invisible to the
// sequencer; a rolled-back one disappears). Several instances may sequence at once: they
// queue on the row lock and the later ones find nothing to do.
//
// The id in a websocket message is this seq (the event's own id is in data.event_id):
// increasing in delivery order, gap-free, and what a client passes as `after`.
// TestConcurrentWritersExactlyOnce proves it with 16 writers, transactions of varied
// length, some rolled back, and readers that must see each committed event once, in order.
//
// # Fan-out and hand-over
//
// Each hub has one pump goroutine that reads live_seq after its cursor and hands each event
// to every live client that may see it, through a bounded queue per client. A client that
// connects with `after` first replays from the tables in its own writer goroutine, then, under
// the hub's lock, becomes live once its replay has reached the pump's cursor; from then on the
// pump hands it only seqs beyond its own position. So there is neither a gap nor a duplicate at
// the hand-over, whichever of the two is ahead. A replay read that finds nothing while the
// pump moves on during it reads again; only a read that finds nothing after the pump had
// already gone past it means the events were deleted (TestCatchUpWhilePumpMovesOn). A client
// without `after` is one with the pump's cursor when its request came as `after`: live at once
// if the pump has not moved since, else it catches up like the others, so that an event fanned
// out while its handshake was answered is not lost (TestFreshClientMissesNothingDuringHandshake).
// NOTIFY is only a wake-up: the listener reconnects after losing PostgreSQL and the pump
// catches up from the tables by cursor.
//
// A client whose queue is full is cut off (close code 1013) and resumes with `after`; a client
// whose first missed event is gone (retention) or older than MaxReplayAge receives
// {"type":"reload"} and the connection closes.
//
// # The sequence going backwards
//
// Numbers are never reused while the database keeps what it committed. When it does not — a
// failover to a lagging replica, asynchronous commits lost at a crash, a restore — live_state
// may fall below what a hub has delivered, or the numbers it delivered may be handed out again
// to other events. Before each read the pump checks both (last_seq below its cursor, another
// event under the cursor's number); on either it tells every client to reload, moves its
// cursor back to the database's position and counts despacho_live_sequence_rewinds_total.
// A client that resumes with an `after` beyond live_state (it was connected before the loss,
// perhaps to another instance) is told to reload too.
package live
