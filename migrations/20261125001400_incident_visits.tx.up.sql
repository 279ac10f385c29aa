-- A technician visit planned for an incident itself (the repair at the node or access point),
-- not for one customer's report: it carries incident_id and no report. Every visit belongs
-- to exactly one of the two.
ALTER TABLE visits ALTER COLUMN report_id DROP NOT NULL;
ALTER TABLE visits ADD COLUMN incident_id bigint REFERENCES incidents (id);
ALTER TABLE visits ADD CONSTRAINT visits_report_or_incident CHECK ((report_id IS NULL) <> (incident_id IS NULL));
CREATE INDEX visits_incident_idx ON visits (incident_id) WHERE incident_id IS NOT NULL;

-- An incident's own visit is the work that ends the outage: it is never held by an incident,
-- least of all its own. Only a customer's visit (one with a report) is held.
CREATE OR REPLACE FUNCTION visits_hold_for_open_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.held_by_incident_id IS NULL AND NEW.report_id IS NOT NULL THEN
        SELECT i.id INTO NEW.held_by_incident_id
        FROM reports AS r JOIN incidents AS i ON i.id = r.incident_id
        WHERE r.id = NEW.report_id AND i.status = 'open';
    END IF;
    RETURN NEW;
END $$;

-- The incident's own timeline (Incidents' IncidentTimeline): its events and its visits'.
CREATE INDEX events_incident_own_idx ON events (incident_id, id) WHERE incident_id IS NOT NULL AND report_id IS NULL;
