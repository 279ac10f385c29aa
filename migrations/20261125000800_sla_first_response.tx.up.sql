-- First-response SLA: the job marks at risk (80 % used) and breached for the first-response
-- deadline too, once each, like the resolution deadline (sla_state). A report is responded
-- at its first staff change (first_responded_at); only unresponded reports are marked.
ALTER TABLE reports
    ADD COLUMN first_response_risk_at timestamptz,
    ADD COLUMN first_response_state   text NOT NULL DEFAULT 'ok'
        CHECK (first_response_state IN ('ok', 'at_risk', 'breached')),
    -- The policy (targets) the due times were computed with, fixed at creation and at a
    -- change of kind or priority: editing the policies leaves existing reports' due times
    -- alone. NULL (reports filed before this migration): look the policy up.
    ADD COLUMN sla_policy jsonb;

-- The SLA job reads the unresponded reports whose first-response risk or due instant has come.
CREATE INDEX reports_first_response_idx ON reports (first_response_risk_at, first_response_due_at)
    WHERE first_responded_at IS NULL AND status IN ('open', 'in_progress', 'awaiting_visit')
        AND first_response_state <> 'breached';
