ALTER TABLE reports DROP COLUMN calendar_version;
DROP TABLE business_calendar;
DROP FUNCTION business_calendar_append_only();
