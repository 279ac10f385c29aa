DROP TABLE IF EXISTS compensations;
DROP INDEX IF EXISTS visits_held_by_incident_idx;
ALTER TABLE visits DROP COLUMN IF EXISTS held_by_incident_id;
DROP INDEX IF EXISTS reports_unattached_faults_idx;
ALTER TABLE reports DROP CONSTRAINT IF EXISTS reports_incident_fk;
DROP TABLE IF EXISTS incidents;
DROP TABLE IF EXISTS incident_folio_counters;
