DROP TABLE IF EXISTS sms_consent_history;
DROP TABLE IF EXISTS sms_consent;
DROP TABLE IF EXISTS sms_inbound;
DROP TABLE IF EXISTS sms_callbacks;
DROP TABLE IF EXISTS sms_outbox;
DROP TABLE IF EXISTS sms_templates;
