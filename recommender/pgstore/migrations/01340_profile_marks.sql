-- The online lifecycle of profiles (recommender.ProfileStore): every profile write and every
-- stale mark takes a fresh generation from one sequence, so that a rebuild computed from
-- data read before a concurrent event can detect it and never overwrite it.

-- +goose Up
CREATE SEQUENCE pupil_gen;

-- Existing profiles get a generation each (the volatile default rewrites the table once).
ALTER TABLE profiles ADD COLUMN gen bigint NOT NULL DEFAULT nextval('pupil_gen');

-- A pupil whose stored profile misses committed data. Written in the transaction that
-- commits the data; removed by the profile write that covers it.
CREATE TABLE stale_pupils (
    student_id text COLLATE "C" PRIMARY KEY REFERENCES students (id) ON DELETE CASCADE,
    gen        bigint NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stale_pupils_gen ON stale_pupils (gen);

-- One row while a refit is owed (the catalogue changed, or a refit was interrupted).
CREATE TABLE refit_pending (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    gen       bigint NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE refit_pending;
DROP TABLE stale_pupils;
ALTER TABLE profiles DROP COLUMN gen;
DROP SEQUENCE pupil_gen;
