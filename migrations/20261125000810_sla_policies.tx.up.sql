-- The SLA policies admins edit: one set (sla.Document as JSON), replaced whole. version
-- grows with every replacement; instances compare it to notice another one's edit. The
-- service seeds the row with its built-in policies when it finds none.
CREATE TABLE sla_policy_set (
    one        boolean     PRIMARY KEY DEFAULT true CHECK (one),
    version    bigint      NOT NULL,
    document   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint      REFERENCES users (id)
);
