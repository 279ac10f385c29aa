ALTER TABLE incidents DROP COLUMN announced_restore_at;
