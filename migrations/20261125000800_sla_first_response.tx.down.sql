DROP INDEX reports_first_response_idx;
ALTER TABLE reports
    DROP COLUMN sla_policy,
    DROP COLUMN first_response_state,
    DROP COLUMN first_response_risk_at;
