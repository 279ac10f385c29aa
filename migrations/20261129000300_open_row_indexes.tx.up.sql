-- The board's queues (unscheduled, missed windows, to book again) and the missed-window
-- sweep, run each minute, read visits by status, and the to-rebook queue reads open
-- reports; the texts' access codes are redacted hourly. None had an index to read by: each
-- read every visit, report or text ever stored (at 300,000 visits of history, 70–130 ms a
-- list, on every board at every visit event; 2.2–2.7 s for the redaction over 1.5 million
-- texts). These partial indexes hold only the rows still open (or still to redact), so they
-- stay small as the history grows.
CREATE INDEX visits_open_status_idx ON visits (status, id)
    WHERE status NOT IN ('completed', 'not_completed', 'cancelled');
CREATE INDEX reports_open_idx ON reports (id)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');
-- The pattern is notify.codePattern, written as RedactAccessCodes sends it: the planner uses
-- these only for a query whose condition is this same text.
CREATE INDEX sms_outbox_unredacted_idx ON sms_outbox (updated_at)
    WHERE body ~ '(\?code=)[A-Za-z0-9%]+';
CREATE INDEX sms_inbound_unredacted_idx ON sms_inbound (received_at)
    WHERE reply ~ '(\?code=)[A-Za-z0-9%]+';
