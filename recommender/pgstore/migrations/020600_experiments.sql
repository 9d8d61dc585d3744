-- Online experiments (recommender/experiment): definitions, the class assignment, and
-- the exposure and feedback logs. Exposures and feedback name a pupil: they are erased
-- with the pupil (ON DELETE CASCADE from students, in DeleteStudent's transaction).

-- +goose Up
CREATE TABLE experiments (
    id          text COLLATE "C" PRIMARY KEY,
    definition  jsonb NOT NULL,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE experiment_classes (
    experiment_id text COLLATE "C" NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    class_id      text COLLATE "C" NOT NULL,
    school_id     text COLLATE "C" NOT NULL,
    level         text NOT NULL,
    arm           text NOT NULL,
    opted_out     boolean NOT NULL DEFAULT false,
    opted_out_at  timestamptz,
    PRIMARY KEY (experiment_id, class_id)
);
CREATE INDEX experiment_classes_class ON experiment_classes (class_id);

CREATE TABLE experiment_exposures (
    id            bigserial PRIMARY KEY,
    experiment_id text COLLATE "C" NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    arm           text NOT NULL,
    class_id      text COLLATE "C" NOT NULL,
    student_id    text COLLATE "C" NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    list_id       text COLLATE "C" NOT NULL,
    resource_ids  text[] NOT NULL,
    source        text NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX experiment_exposures_exp ON experiment_exposures (experiment_id, at);
CREATE INDEX experiment_exposures_list ON experiment_exposures (list_id);
CREATE INDEX experiment_exposures_student ON experiment_exposures (student_id);

CREATE TABLE experiment_feedback (
    id            bigserial PRIMARY KEY,
    experiment_id text COLLATE "C" NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    arm           text NOT NULL,
    student_id    text COLLATE "C" NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    list_id       text COLLATE "C" NOT NULL,
    kind          text NOT NULL,
    resource_id   text COLLATE "C" NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX experiment_feedback_exp ON experiment_feedback (experiment_id, at);
CREATE INDEX experiment_feedback_student ON experiment_feedback (student_id);

-- +goose Down
DROP TABLE experiment_feedback;
DROP TABLE experiment_exposures;
DROP TABLE experiment_classes;
DROP TABLE experiments;
