-- No visit stays held by an incident that is no longer open. Resolving an incident
-- cancelled only the held visits of the reports it resolved: a visit under way when staff
-- closed or cancelled its report, which its technician could not complete while the
-- incident was open, was held and never cancelled; and a "could not complete" recorded
-- while the incident was being resolved held its visit after the resolution had cancelled
-- the others. Such a visit is off every plan and refused to staff and customer
-- (held_by_incident) for good, and, being live, it kept "still down" from giving the
-- reopened report a new visit. postgres.Incidents.Resolve now cancels every visit the
-- incident holds, and the step waits for a resolution under way.
--
-- The visits stuck so far are cancelled as the resolution would have done (visit.cancelled,
-- reason incident_resolved, with the incident's id and folio; the outbox texts nothing for
-- it) and their texts still waiting are withdrawn. A report that is active again (reopened
-- after the incident) and so left with no live visit gets a new unscheduled visit like the
-- cancelled one, as "still down" gives one (visit.created): it goes back to the
-- dispatcher's queue, not held, the incident being over.
CREATE TEMPORARY TABLE incident_holds_ended ON COMMIT DROP AS
SELECT v.id, v.report_id, v.technician_id, v.status, i.id AS incident_id, i.folio AS incident_folio
FROM visits AS v JOIN incidents AS i ON i.id = v.held_by_incident_id
WHERE i.status <> 'open' AND v.status IN ('unscheduled', 'booked', 'assigned', 'not_completed');

UPDATE visits AS v SET status = 'cancelled', hold_start = NULL, hold_end = NULL, held_until = NULL,
    version = v.version + 1, updated_at = now()
FROM incident_holds_ended AS h WHERE h.id = v.id;

INSERT INTO events (type, actor, report_id, visit_id, technician_id, incident_id, data)
SELECT 'visit.cancelled', 'system', report_id, id, technician_id, incident_id,
    jsonb_build_object('from', status, 'reason', 'incident_resolved', 'incident_id', incident_id, 'incident_folio', incident_folio)
FROM incident_holds_ended ORDER BY id;

UPDATE sms_outbox SET state = 'cancelled', updated_at = now()
WHERE state = 'pending' AND visit_id IN (SELECT id FROM incident_holds_ended);

CREATE TEMPORARY TABLE incident_holds_replaced ON COMMIT DROP AS
SELECT DISTINCT ON (h.report_id) h.report_id, h.id AS old_id
FROM incident_holds_ended AS h JOIN reports AS r ON r.id = h.report_id
WHERE r.status IN ('open', 'in_progress', 'awaiting_visit', 'waiting_customer')
  AND NOT EXISTS (SELECT 1 FROM visits AS o WHERE o.report_id = h.report_id AND o.status NOT IN ('completed', 'cancelled'))
ORDER BY h.report_id, h.id DESC;

WITH created AS (
    INSERT INTO visits (report_id, duration_min, skills, address, lat, lon, priority, urgent, availability, created_at, updated_at)
    SELECT v.report_id, v.duration_min, v.skills, v.address, v.lat, v.lon, v.priority, v.urgent, '[]'::jsonb, now(), now()
    FROM incident_holds_replaced AS x JOIN visits AS v ON v.id = x.old_id
    RETURNING id, report_id, duration_min, skills, urgent
)
INSERT INTO events (type, actor, report_id, visit_id, data)
SELECT 'visit.created', 'system', c.report_id, c.id,
    jsonb_build_object('duration_min', c.duration_min, 'skills', c.skills, 'urgent', c.urgent, 'replaces', x.old_id)
FROM created AS c JOIN incident_holds_replaced AS x ON x.report_id = c.report_id ORDER BY c.id;
