-- Issue 10, online path (o10; versions 0202xx). Profiles are stored in a compact binary
-- encoding (CBOR, see profilecodec.go) in `body` instead of JSON in `data`: the online
-- update reads and writes the profile once per event, and parsing and printing ~30 KB of
-- JSON (jsonb in PostgreSQL, encoding/json in Go) was most of an event's CPU. Rows written
-- before keep their JSON and are read as such until they are next written. lz4 rather
-- than the default pglz: the body is compressed on every write and read back on every
-- event.

-- +goose Up
ALTER TABLE profiles ADD COLUMN body bytea COMPRESSION lz4;
ALTER TABLE profiles ALTER COLUMN data DROP NOT NULL;
ALTER TABLE profiles ADD CONSTRAINT profiles_data_or_body CHECK (data IS NOT NULL OR body IS NOT NULL);

-- +goose Down
-- JSON cannot be made from CBOR in SQL: the profiles stored as CBOR are dropped and their
-- pupils marked stale, so that the engine rebuilds them (Repair) in the old encoding.
INSERT INTO stale_pupils (student_id, gen)
    SELECT student_id, nextval('pupil_gen') FROM profiles WHERE data IS NULL
    ON CONFLICT (student_id) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now();
DELETE FROM profiles WHERE data IS NULL;
ALTER TABLE profiles DROP CONSTRAINT profiles_data_or_body;
ALTER TABLE profiles ALTER COLUMN data SET NOT NULL;
ALTER TABLE profiles DROP COLUMN body;
