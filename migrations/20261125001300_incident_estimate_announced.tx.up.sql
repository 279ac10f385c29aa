-- The estimated restore time the affected customers were last texted. A new estimate is
-- texted only when it differs materially from this one (IncidentsConfig.EstimateChange), so
-- that nudging the estimate by a few minutes does not text hundreds of customers.
ALTER TABLE incidents ADD COLUMN announced_restore_at timestamptz;
UPDATE incidents SET announced_restore_at = estimated_restore_at;
