// Package notify texts customers: messages rendered from templates in the customer's
// language, a transactional outbox that a worker sends through Twilio (or, without
// credentials, to a development outbox), and Twilio's delivery and inbound webhooks.
//
// # Queueing
//
// Outbox.Hook is a postgres.EventHook: it runs inside the transaction that appends an event
// and writes the text that event calls for to sms_outbox in that same transaction, so a
// text is queued if and only if the change that causes it commits. Each row has a unique
// dedupe_key (folio:REPORT, booked:VISIT:WINDOW:EVENT, outcome:REPORT:…, or one naming the
// event), so no event, and no outcome told twice, can produce two texts; a re-plan that
// keeps the window the customer was last told sends no window text but queues the visit's
// reminder afresh, naming the new technician (at once when its hour passed while the old one
// waited; one that may already have reached Twilio stays, to be reconciled); when no
// reminder is left to name him, the new technician is texted (technician:VISIT:WINDOW:EVENT),
// unless he has the first name the customer was last told. A customer never told a window
// is told a re-plan's window as his booking, never as a change; a visit he was never told
// is cancelled without a text. Only the texts of a report's creation link its status page
// with the access code (?code=, see postgres.AccessCode): the later ones cannot carry it,
// and offer SMS replies instead of the page; the answer to "2" adds the page (without the
// code, which his folio text carried) where the customer may pick the window himself,
// while the booking page would take his visit. An incident texts each
// attached report's customer once when the report is attached (incident:cCUSTOMER:INCIDENT,
// with the estimated restore time when known; a report attached as it is filed is told by
// its folio text instead, which withdraws the notice still pending for another report of
// the customer's, so the report that opens an incident by the rule gets him one text),
// once per estimate change, and once when it
// resolves the report (incident_restored:cCUSTOMER:INCIDENT, with the bonus when there is
// one); attaching cancels the reminders of the visits the incident holds and tells, with
// the notice, that each whose window the customer was texted is put off because of the
// outage (visit_held:VISIT:INCIDENT). An incident that
// texts its whole access point (the provider's default, or the dispatcher's choice) also
// writes incident.area_notice at each step: one INSERT … SELECT queues one text to every
// other customer of the access point (incident_area:NOTICE:INCIDENT:CUSTOMER), skipping the
// opted-out and those with a report attached, who have their report's texts. Those area
// texts carry no report folio nor bonus (compensation is computed per report) and the
// restore text asks no confirmation: it offers "2" to open a report instead. The
// day-before reminder is a row whose send_after lies in the future (no timer per visit:
// the workers pick due rows) and whose expires_at is the start of the visit's day (it says
// "tomorrow", so one still unsent then is withdrawn); a re-booking, cancellation or
// completion of the visit cancels it, and so does its return to booking (a re-plan that
// finds nobody to keep its window), which also tells the customer that the window he was
// texted will not be kept. Likewise a visit's texts that a later change of
// the visit makes untrue (its window, "on the way") are cancelled while still pending
// (waiting for a retry, or behind a backlog), so that none reaches the customer after the
// change's own text; one being sent at the time cannot be recalled, but is made to expire
// then, so that if Twilio refused it (429, 5xx) the worker cancels it when it claims it
// again rather than send it after the change's text. A customer whose booked text was so
// cancelled is told the new window as his booking. A window that ended with nobody on the
// way (visit.window_missed, written by postgres.Visits.MarkMissedWindows) is apologised
// for once per visit and window (window_missed:VISIT:WINDOW), only to a customer last
// told that very window; it offers "2" for another time, waits out the quiet hours, and is
// withdrawn, while it waits, by the visit's next change (booked again, set out for).
//
// A text about a change the customer did not ask for — another technician in the window
// he was told (visit.rescheduled keeping the window: a re-plan, the optimiser, a
// dispatcher's move or assignment), or a window a re-plan cannot keep (visit.unassigned
// back to booking) — made in the quiet hours (Config.Quiet, 21:00-08:00 by default) waits
// until they end (send_after); a later change of the visit withdraws it like any pending
// text, so only the newest goes then. A visit that begins less than an hour after they end
// is told at once instead, and a held window text expires when its window begins, so it
// never arrives after the technician could ring. What the customer is waiting for (the
// folio, a window he booked, "on the way", the outcome, answers to his texts) goes at
// once. The insert also queues a NOTIFY on
// Channel, which wakes the workers at commit; they poll as well, because notifications are
// only hints.
//
// # Sending: no loss, no double
//
// A worker claims due rows with FOR UPDATE SKIP LOCKED and, in that same short
// transaction, marks them "sending" with attempt_at and attempts+1, and commits, before it
// calls Twilio. Then:
//
//   - Twilio answers with a SID: the row becomes "sent" with the SID and an sms.sent event
//     is written; the answers of one claimed batch are recorded in one transaction. The
//     update is fenced on (state, attempts), so a worker whose lease was taken over cannot
//     overwrite the new owner's outcome.
//   - Twilio refuses the message for good (4xx such as 21211, 21610, 21408, 21614): the row
//     becomes "failed" and sms.failed goes on the report's timeline (21610 also records an
//     opt-out).
//   - 429: back to "pending" with exponential backoff and jitter; nothing was created.
//   - 5xx, a timeout or a network error: Twilio may have created the message. The row goes
//     back to "pending" with backoff and ambiguous=true.
//   - The worker dies (kill -9, power loss) anywhere after the "sending" commit: the row
//     stays "sending"; once attempt_at is older than the lease, any worker claims it and
//     treats it as ambiguous. The lease exceeds twice the HTTP timeout, and a worker hands
//     back the unsent rest of a batch once half the lease has passed, so a live owner is
//     never still talking to Twilio about a row another worker has taken.
//
// Before sending an ambiguous row again, the worker reconciles: it lists the account's
// messages to that number (twilio-go ListMessage with To, newest first) created since the
// first ambiguous attempt, and looks for one with the same body (allowing for Twilio's
// smart encoding) whose SID no outbox row holds yet. If found, that SID is recorded and
// nothing is sent; otherwise the text is sent again. DateSent> is not used as the filter:
// a message still queued at Twilio has no date_sent, and the filter has day granularity.
// A crash before the "sending" commit leaves the row "pending" and untouched: it is simply
// sent later. So every notification reaches Twilio at least once, and a second request is
// made only when Twilio's own list shows the first did not arrive.
//
// Opt-outs are checked when a text is queued and again when it is claimed (sms_consent,
// fed by STOP/BAJA texts, 21610 answers and staff; and customers.sms_opt_out). Texts are
// not queued for an opted-out customer, so one who opts back in by text (START/ALTA) is
// told then each visit still to come whose window he was not told, as it stands now (its
// window and technician), and has its day-before reminder queued when the reminder's hour
// is ahead (see Outbox.optIn); opting in again adds nothing. Each change of consent by text,
// and an opt-out at the carrier (21610), is a step on the timeline of each of the
// customer's reports not closed or cancelled (sms.opted_out, sms.opted_in), so that staff
// see why his texts stopped.
//
// # Webhooks
//
// POST /twilio/status and POST /twilio/inbound check X-Twilio-Signature against
// PUBLIC_BASE_URL + path (403 otherwise, nothing changed). Status moves are monotonic, so
// out-of-order and repeated callbacks are harmless; a callback that beats the worker's
// commit is kept in sms_callbacks and applied when the SID is recorded. Inbound texts are
// recorded by MessageSid (and I-Twilio-Idempotency-Token) in the transaction that acts on
// them; a redelivery gets the stored TwiML answer and acts on nothing.
//
// An answer means what it answers: the last text due to the number (sms_outbox by
// send_after). When that is an incident's restore notice (within seven days), "2", "NO" or
// a phrase like "sigue sin servicio" reopens the report it named with a normal visit
// (Reports.StillDown) and "1"/"SI" records the confirmation; after a visit's text, "1" and
// "2" confirm or reschedule the visit that text was about (a customer with two folios
// answers the one last texted), else the customer's next booked visit — and "Ok",
// "Perfecto" or "De acuerdo" to a booking or a reminder confirm as "1" does, where
// elsewhere, like "Gracias", they ask for nothing and get nothing; words of his own
// go on the open folio that text was about, else on his latest open report. Either way
// the TwiML answer is the one text sent back.
package notify
