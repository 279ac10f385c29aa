-- A visit created for a report whose incident is still open is held from the start, like the
-- visits the incident held when the report attached: whichever code creates visits, a
-- technician is never sent to one customer of a known mass outage.
CREATE FUNCTION visits_hold_for_open_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.held_by_incident_id IS NULL THEN
        SELECT i.id INTO NEW.held_by_incident_id
        FROM reports AS r JOIN incidents AS i ON i.id = r.incident_id
        WHERE r.id = NEW.report_id AND i.status = 'open';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER visits_hold_for_open_incident BEFORE INSERT ON visits
    FOR EACH ROW EXECUTE FUNCTION visits_hold_for_open_incident();
