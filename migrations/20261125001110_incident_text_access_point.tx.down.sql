ALTER TABLE incidents DROP COLUMN text_access_point;
