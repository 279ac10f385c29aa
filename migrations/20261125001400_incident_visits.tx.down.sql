-- Incident visits cannot exist without report_id NOT NULL lifted: they go with the column.
DROP INDEX IF EXISTS events_incident_own_idx;
CREATE OR REPLACE FUNCTION visits_hold_for_open_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.held_by_incident_id IS NULL THEN
        SELECT i.id INTO NEW.held_by_incident_id
        FROM reports AS r JOIN incidents AS i ON i.id = r.incident_id
        WHERE r.id = NEW.report_id AND i.status = 'open';
    END IF;
    RETURN NEW;
END $$;
DELETE FROM visit_media WHERE visit_id IN (SELECT id FROM visits WHERE incident_id IS NOT NULL);
DELETE FROM visits WHERE incident_id IS NOT NULL;
DROP INDEX IF EXISTS visits_incident_idx;
ALTER TABLE visits DROP CONSTRAINT IF EXISTS visits_report_or_incident;
ALTER TABLE visits DROP COLUMN IF EXISTS incident_id;
ALTER TABLE visits ALTER COLUMN report_id SET NOT NULL;
