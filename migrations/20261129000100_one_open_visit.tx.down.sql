-- The duplicates the up migration cancelled stay cancelled: their events told so.
DROP INDEX visits_one_open_per_report;
