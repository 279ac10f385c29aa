-- An inbound text answers the last text sent to its number ("2" to a restore notice means
-- "still down", to a booking "another time"): find that text by phone.
CREATE INDEX sms_outbox_to_phone_idx ON sms_outbox (to_phone, send_after);
