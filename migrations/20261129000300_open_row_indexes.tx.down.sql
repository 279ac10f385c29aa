DROP INDEX sms_inbound_unredacted_idx;
DROP INDEX sms_outbox_unredacted_idx;
DROP INDEX reports_open_idx;
DROP INDEX visits_open_status_idx;
