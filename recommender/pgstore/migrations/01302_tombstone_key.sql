-- Issue 13: the key tombstones are hashed with. When the deployment gives none
-- (PARCOURS_TOMBSTONE_KEY), the database keeps one of its own here, so that tombstones
-- work out of the box; key_check (an HMAC of a fixed text under the key in use) makes a
-- later change of key an error at start instead of tombstones silently lost.

-- +goose Up
CREATE TABLE tombstone_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    own_key   bytea,
    key_check bytea NOT NULL
);

-- +goose Down
DROP TABLE tombstone_key;
