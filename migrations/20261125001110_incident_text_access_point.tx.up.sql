-- Whether an incident texts every customer of its access point, not only those who
-- reported (the provider's default, or the dispatcher's choice when opening it).
ALTER TABLE incidents ADD COLUMN text_access_point boolean NOT NULL DEFAULT false;
