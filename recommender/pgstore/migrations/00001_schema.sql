-- The Parcours schema. Ids are opaque strings compared byte-wise (COLLATE "C"), so that
-- ORDER BY id agrees with Go's sort.Strings and btree comparisons stay cheap.
--
-- The event tables (grades, absences, statements) carry no foreign key to students:
-- Ingest validates every reference inside its transaction, against what is stored plus
-- the batch, and row-by-row foreign-key triggers would halve bulk ingest throughput.
-- Ingest and DeleteStudent serialise on one advisory lock, so no orphan can slip in.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE competencies (
    id            text COLLATE "C" PRIMARY KEY,
    subject       text NOT NULL,
    level         text NOT NULL,
    label         text NOT NULL,
    prerequisites text[] COLLATE "C" NOT NULL DEFAULT '{}'
);

CREATE TABLE resources (
    id           text COLLATE "C" PRIMARY KEY,
    title        text NOT NULL,
    subject      text NOT NULL,
    level        text NOT NULL,
    type         text NOT NULL,
    competencies text[] COLLATE "C" NOT NULL DEFAULT '{}',
    difficulty   double precision NOT NULL,
    duration_min integer NOT NULL
);

CREATE TABLE students (
    id        text COLLATE "C" PRIMARY KEY,
    school_id text COLLATE "C" NOT NULL,
    class_id  text COLLATE "C" NOT NULL,
    level     text NOT NULL,
    consent   boolean NOT NULL
);
CREATE INDEX students_class ON students (class_id);
CREATE INDEX students_school ON students (school_id);

CREATE TABLE lessons (
    id           text COLLATE "C" PRIMARY KEY,
    class_id     text COLLATE "C" NOT NULL,
    subject      text NOT NULL,
    competencies text[] COLLATE "C" NOT NULL DEFAULT '{}',
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL
);
CREATE INDEX lessons_class_start ON lessons (class_id, start_at);
CREATE INDEX lessons_end ON lessons (end_at); -- purge

CREATE TABLE grades (
    id            text COLLATE "C" PRIMARY KEY,
    student_id    text COLLATE "C" NOT NULL,
    subject       text NOT NULL,
    competencies  text[] COLLATE "C" NOT NULL DEFAULT '{}',
    assessment_id text NOT NULL,
    date          timestamptz NOT NULL,
    score         double precision NOT NULL,
    out_of        double precision NOT NULL,
    coefficient   double precision NOT NULL,
    status        text NOT NULL DEFAULT ''
);
CREATE INDEX grades_student_date ON grades (student_id, date);
-- No index on date alone: the nightly purge scans the table once, and every index costs
-- each ingested row (grades and statements are the bulk of every ingest).

CREATE TABLE absences (
    id         text COLLATE "C" PRIMARY KEY,
    student_id text COLLATE "C" NOT NULL,
    start_at   timestamptz NOT NULL,
    end_at     timestamptz NOT NULL,
    justified  boolean NOT NULL
);
CREATE INDEX absences_student_start ON absences (student_id, start_at);
CREATE INDEX absences_end ON absences (end_at); -- purge

-- Only the contract's fields of an xAPI statement are kept, never the raw JSON: a source
-- system may put anything in extensions, and data minimisation forbids storing it.
CREATE TABLE statements (
    id          text COLLATE "C" PRIMARY KEY,
    student_id  text COLLATE "C" NOT NULL,
    verb        text NOT NULL,
    object_id   text COLLATE "C" NOT NULL,
    ts          timestamptz NOT NULL,
    scaled      double precision,
    success     boolean,
    completion  boolean,
    duration_ns bigint
);
CREATE INDEX statements_student_ts ON statements (student_id, ts);
-- voiding statements name the statement they withdraw
CREATE INDEX statements_voids ON statements (object_id)
    WHERE verb = 'http://adlnet.gov/expapi/verbs/voided';

CREATE TABLE profiles (
    student_id     text COLLATE "C" PRIMARY KEY REFERENCES students (id) ON DELETE CASCADE,
    data           jsonb NOT NULL,
    embedding      vector,
    schema_version integer NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The vectors' dimension depends on the catalogue, so the column has no typmod; the HNSW
-- index is an expression index on embedding::vector(D), rebuilt when D changes (see
-- vectors.go). subject and level are copied from resources so that a filtered search
-- reads one table.
CREATE TABLE resource_vectors (
    resource_id    text COLLATE "C" PRIMARY KEY REFERENCES resources (id) ON DELETE CASCADE,
    embedding      vector NOT NULL,
    schema_version integer NOT NULL,
    subject        text NOT NULL,
    level          text NOT NULL
);
-- Lets the planner answer a selective filter by an exact scan of the matching rows when
-- that is cheaper than walking the HNSW graph until enough rows pass.
CREATE INDEX resource_vectors_subject ON resource_vectors (subject);

-- One row: the dimension the HNSW index was built for.
CREATE TABLE resource_vector_meta (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    dim            integer NOT NULL,
    schema_version integer NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    state      bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE decisions (
    id          bigserial PRIMARY KEY,
    student_id  text COLLATE "C" NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    resource_id text COLLATE "C" NOT NULL,
    decision    text NOT NULL CHECK (decision IN ('approve', 'reject', 'pin')),
    comment     text NOT NULL DEFAULT '',
    teacher_id  text NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX decisions_student_at ON decisions (student_id, at, id);

CREATE TABLE served (
    id          bigserial PRIMARY KEY,
    student_id  text COLLATE "C" NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    resource_id text COLLATE "C" NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX served_student_at ON served (student_id, at);
CREATE INDEX served_at ON served (at); -- purge

-- The access log (CNIL): append-only. Entries outlive the pupil they are about (erasure
-- keeps them) and leave only through the retention purge.
CREATE TABLE audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_id   text NOT NULL,
    actor_role text NOT NULL,
    student_id text COLLATE "C" NOT NULL DEFAULT '',
    action     text NOT NULL,
    detail     text NOT NULL DEFAULT ''
);
CREATE INDEX audit_student_at ON audit (student_id, at);
CREATE INDEX audit_at ON audit (at);

-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

-- +goose Down
DROP TABLE audit;
DROP FUNCTION audit_append_only();
DROP TABLE served;
DROP TABLE decisions;
DROP TABLE model_state;
DROP TABLE resource_vector_meta;
DROP TABLE resource_vectors;
DROP TABLE profiles;
DROP TABLE statements;
DROP TABLE absences;
DROP TABLE grades;
DROP TABLE lessons;
DROP TABLE students;
DROP TABLE resources;
DROP TABLE competencies;
