DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS reports;
DROP TABLE IF EXISTS folio_counters;
DROP TABLE IF EXISTS locations;
DROP TABLE IF EXISTS customers;
