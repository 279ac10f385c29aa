-- The visits the up migration cancelled stay cancelled, and those it created stay: their
-- events told so.
SELECT 1;
