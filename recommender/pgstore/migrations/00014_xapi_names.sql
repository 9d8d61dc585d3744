-- The contract's second version (issue 14): xAPI as real clients send it, names, launch
-- URLs, hidden resources, LRS clients. Numbered after the issue so that migrations added
-- in parallel by other issues do not collide.

-- +goose Up
-- Display names and mailboxes are personal data: erased with the pupil (DeleteStudent
-- deletes the row), exported, never logged. mbox_sha1 holds the hashes an xAPI actor's
-- mbox_sha1sum is compared with (of the mailbox as given and lower-cased).
ALTER TABLE students
    ADD COLUMN display_name text NOT NULL DEFAULT '',
    ADD COLUMN mbox         text NOT NULL DEFAULT '',
    ADD COLUMN mbox_sha1    text[] COLLATE "C" NOT NULL DEFAULT '{}';
CREATE INDEX students_mbox_sha1 ON students USING gin (mbox_sha1);

ALTER TABLE resources
    ADD COLUMN url     text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN alt_ids text[] COLLATE "C" NOT NULL DEFAULT '{}';
CREATE INDEX resources_url ON resources (url) WHERE url <> '';
CREATE INDEX resources_alt_ids ON resources USING gin (alt_ids);

CREATE TABLE classes (
    id        text COLLATE "C" PRIMARY KEY,
    school_id text COLLATE "C" NOT NULL,
    label     text NOT NULL
);

-- Valid statements about pupils or activities Parcours does not know. The actor is kept
-- as a key only (an mbox as its SHA-1); student_id is set when the pupil is known but the
-- activity is not.
CREATE TABLE unmapped_statements (
    id          text COLLATE "C" PRIMARY KEY,
    student_id  text COLLATE "C" NOT NULL DEFAULT '',
    actor       text COLLATE "C" NOT NULL,
    reason      text NOT NULL,
    verb        text NOT NULL,
    object_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    scaled      double precision,
    success     boolean,
    completion  boolean,
    duration_ns bigint
);
CREATE INDEX unmapped_statements_student ON unmapped_statements (student_id) WHERE student_id <> '';
CREATE INDEX unmapped_statements_actor ON unmapped_statements (actor);

-- LRS clients (HTTP Basic): the secret only as a password hash.
CREATE TABLE lrs_clients (
    key         text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    secret_hash text NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Resources hidden from recommendations and paths: for one class, or for all ('').
CREATE TABLE hidden_resources (
    class_id    text COLLATE "C" NOT NULL DEFAULT '',
    resource_id text COLLATE "C" NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    hidden_by   text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (class_id, resource_id)
);

-- +goose Down
DROP TABLE hidden_resources;
DROP TABLE lrs_clients;
DROP TABLE unmapped_statements;
DROP TABLE classes;
DROP INDEX resources_alt_ids;
DROP INDEX resources_url;
ALTER TABLE resources DROP COLUMN alt_ids, DROP COLUMN url;
DROP INDEX students_mbox_sha1;
ALTER TABLE students DROP COLUMN mbox_sha1, DROP COLUMN mbox, DROP COLUMN display_name;
