DROP INDEX sms_outbox_to_phone_idx;
