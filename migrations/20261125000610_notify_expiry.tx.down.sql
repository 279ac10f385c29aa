ALTER TABLE sms_outbox DROP COLUMN IF EXISTS expires_at;
