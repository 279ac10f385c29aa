-- A text that is pointless after a moment (the day-before reminder, once the visit has
-- begun) carries expires_at; a worker finding it due after that cancels it instead of
-- sending it.
ALTER TABLE sms_outbox ADD COLUMN expires_at timestamptz;
