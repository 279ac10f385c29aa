DROP TRIGGER IF EXISTS live_forget ON events;
DROP FUNCTION IF EXISTS live_forget();
DROP TRIGGER IF EXISTS live_enqueue ON events;
DROP FUNCTION IF EXISTS live_enqueue();
DROP TABLE IF EXISTS live_state;
DROP TABLE IF EXISTS live_seq;
DROP TABLE IF EXISTS live_pending;
