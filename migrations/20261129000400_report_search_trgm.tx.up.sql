-- The desk's search (ListFilter.Query: a text anywhere in a report's folio, subject or
-- description, or in its customer's name, as ILIKE '%text%') read every report to find a
-- rare name: about a second at 300,000 reports, on each search an agent makes while the
-- customer waits on the line. Trigram indexes answer such a pattern from the index.
-- pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX reports_search_trgm_idx ON reports
    USING gin (folio gin_trgm_ops, subject gin_trgm_ops, description gin_trgm_ops);
CREATE INDEX customers_name_trgm_idx ON customers USING gin (name gin_trgm_ops);
