DROP TRIGGER IF EXISTS visits_hold_for_open_incident ON visits;
DROP FUNCTION IF EXISTS visits_hold_for_open_incident();
