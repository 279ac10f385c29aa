-- Photos and the customer's signature taken by the technician at a visit, kept in the
-- database with the rest of the visit (a few hundred KB each; no file store to back up).
CREATE TABLE visit_media (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_id     bigint      NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    -- n numbers the visit's media from 1 in upload order: /api/visits/{id}/media/{n}.
    n            int         NOT NULL CHECK (n BETWEEN 1 AND 100),
    kind         text        NOT NULL CHECK (kind IN ('photo', 'signature')),
    content_type text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    body         bytea       NOT NULL CHECK (octet_length(body) BETWEEN 1 AND 614400),
    -- client_key is the key the phone generated for the file: a retried upload finds it.
    client_key   text        NOT NULL UNIQUE CHECK (length(client_key) BETWEEN 8 AND 100),
    uploaded_by  bigint      REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (visit_id, n)
);

-- At most one signature per visit.
CREATE UNIQUE INDEX visit_media_one_signature ON visit_media (visit_id) WHERE kind = 'signature';
