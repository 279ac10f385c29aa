DROP INDEX customers_name_trgm_idx;
DROP INDEX reports_search_trgm_idx;
DROP EXTENSION IF EXISTS pg_trgm;
