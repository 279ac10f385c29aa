DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS reports;
DROP FUNCTION IF EXISTS next_report_folio(int);
DO $$
DECLARE s record;
BEGIN
    FOR s IN SELECT sequence_name FROM information_schema.sequences
             WHERE sequence_schema = current_schema() AND sequence_name ~ '^report_folio_[0-9]+$' LOOP
        EXECUTE format('DROP SEQUENCE %I', s.sequence_name);
    END LOOP;
END $$;
DROP TABLE IF EXISTS locations;
DROP TABLE IF EXISTS customers;
