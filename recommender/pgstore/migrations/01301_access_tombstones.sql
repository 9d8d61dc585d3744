-- Issue 13 (versions 013xx: the issue's number, so that migrations written in parallel by
-- other issues do not collide).
--
-- Every pupil carries a generation (recommender.Access): a value of one sequence, given
-- anew, within the writing transaction, whenever the pupil's row, profile or decisions
-- change. Cached answers carry the generation they were computed under and a read takes
-- only those of the generation it has just read from here, so whoever changed the data
-- (the API, `parcours ingest`, another replica) no stale access, consent or erasure is
-- ever served from a cache. One sequence for all pupils: an erased pupil created again
-- never gets back a generation they had.
--
-- Tombstones keep erased pupils from being created again by the next feed: an HMAC of
-- the id under a key the database does not hold, never the id itself.
--
-- The audit log records the outcome of each action, not only that it was asked for.

-- +goose Up
CREATE SEQUENCE pupil_generation;
ALTER TABLE students ADD COLUMN generation bigint NOT NULL DEFAULT nextval('pupil_generation');

CREATE TABLE tombstones (
    hash bytea PRIMARY KEY,
    at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE audit ADD COLUMN outcome text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN outcome;
DROP TABLE tombstones;
ALTER TABLE students DROP COLUMN generation;
DROP SEQUENCE pupil_generation;
