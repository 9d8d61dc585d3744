// Package recommender is Parcours's domain core: it chooses the resources a pupil should
// work on next (retrieval, ranking, learning paths, explanations), keeps teachers'
// decisions, and owns the interfaces of the storage and cache it consumes.
//
// It never speaks HTTP or SQL: api/ turns its errors into status codes, and the stores
// (memstore, pgstore) implement its interfaces.
package recommender

import (
	"context"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// The domain error codes, re-exported so that recommender's callers need not import
// datasets to check them. There is one error type, *datasets.Error; these are its codes,
// usable as sentinels with errors.Is. Stores and the engine return a *datasets.Error
// (naming the field when there is one) or wrap a code with context.
const (
	ErrNotFound    = datasets.ErrNotFound
	ErrConflict    = datasets.ErrConflict
	ErrInvalid     = datasets.ErrInvalid
	ErrUnavailable = datasets.ErrUnavailable
)

// Filter narrows a vector search. Empty fields do not filter.
type Filter struct {
	Subject string
	Levels  []string // any of these levels
	Exclude []string // resource ids never returned
}

// Hit is one search result: a resource id and its inner product with the query.
type Hit struct {
	ResourceID string
	Score      float32
}

// VectorSearcher finds the resources whose vectors have the largest inner product with q.
type VectorSearcher interface {
	SearchResources(ctx context.Context, q []float32, k int, f Filter) ([]Hit, error)
}

// StudentFilter narrows a search among student vectors.
type StudentFilter struct {
	Level    string // pupils of this level (required)
	SchoolID string // pupils of this school; empty: any school
	Exclude  string // a pupil never returned (the one asking)
}

// StudentHit is one pupil found by a student-vector search, with the inner product.
type StudentHit struct {
	StudentID string
	Score     float32
}

// StudentSearcher is an optional store capability, found by type assertion as
// database/sql finds driver.Pinger: the consenting pupils whose stored student vectors
// have the largest inner product with q, best first (ties by id). Pupils without
// consent, without a profile or with a vector of another dimension are never returned.
// memstore scans exactly; pgstore orders by pgvector's inner product.
type StudentSearcher interface {
	SearchStudents(ctx context.Context, q []float32, k int, f StudentFilter) ([]StudentHit, error)
}

// Changed tells what an ingest touched, so that profiles and caches can be refreshed.
type Changed struct {
	Students  []string // pupils whose data changed, sorted
	Classes   []string // classes whose timetable changed, sorted
	Catalogue bool     // competencies or resources changed
}

// Decision is a teacher's decision on one step of a pupil's path.
type Decision struct {
	StudentID  string    `json:"student_id"`
	ResourceID string    `json:"resource_id"`
	Decision   string    `json:"decision"` // approve | reject | pin | undo (DecisionUndo)
	Comment    string    `json:"comment"`
	TeacherID  string    `json:"teacher_id"`
	At         time.Time `json:"at"`
}

// Decision values.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
	DecisionPin     = "pin"
)

// AuditEntry is one access to a pupil's data (CNIL: who, when, what, about whom).
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actor_id"`
	ActorRole string    `json:"actor_role"`
	StudentID string    `json:"student_id"` // whose data; empty for aggregate reads
	Action    string    `json:"action"`     // what: e.g. "recommendations.read", "export", "erase"
	Detail    string    `json:"detail"`     // e.g. the route and query, never personal data
	// Outcome is what became of the action: "ok", "denied" (401, 403), "not_found",
	// "conflict", "invalid" or "failed" (a store or cache down). A write is audited once
	// its outcome is known, so an entry never says that an erasure or a consent change
	// was done when it was not. Empty in entries written before outcomes were recorded.
	Outcome string `json:"outcome"`
}

// AuditQuery selects audit entries.
type AuditQuery struct {
	StudentID string
	Since     time.Time
	Limit     int
}

// PurgeCounts reports what a retention run removed.
type PurgeCounts struct {
	Audit      int64 `json:"audit"`
	Grades     int64 `json:"grades"`
	Absences   int64 `json:"absences"`
	Statements int64 `json:"statements"`
	Lessons    int64 `json:"lessons"`
}

// Export is everything held about one pupil (RGPD right of access).
type Export struct {
	Student    datasets.Student     `json:"student"`
	Grades     []datasets.Grade     `json:"grades"`
	Absences   []datasets.Absence   `json:"absences"`
	Statements []datasets.Statement `json:"statements"`
	Profile    *features.Profile    `json:"profile,omitempty"`
	Vector     []float32            `json:"vector,omitempty"`
	Decisions  []Decision           `json:"decisions"`
	Served     []Served             `json:"served"`
	// Unmapped are the statements about the pupil kept unmapped (unknown activity).
	Unmapped []datasets.UnmappedStatement `json:"unmapped_statements"`
	// AccessLog is the audit trail about the pupil: who read or changed their data, when,
	// and with what outcome (filled by the API from the audit log).
	AccessLog []AuditEntry `json:"access_log"`
}

// Served is one recommendation shown to a pupil.
type Served struct {
	ResourceID string    `json:"resource_id"`
	At         time.Time `json:"at"`
}

// The storage interfaces. Each consumer takes only the few methods it needs, as
// api/teacher's CatalogueSource does: the engine (EngineStore), the API's own reads
// (api.Store), the audit spool (AuditAppender), the offline evaluation and cmd/'s wiring.
// memstore and pgstore implement all of them (Store) and pass one conformance suite
// (storetest). Every method is safe for concurrent use.

// Ingester applies a batch of school data.
type Ingester interface {
	// Ingest validates references against what is stored plus the batch, and applies the
	// batch all-or-nothing, upserting by id. A batch may hold any mix of entity kinds.
	// Re-ingesting identical rows changes nothing (and reports nothing changed). In the same
	// transaction it marks every changed pupil stale, and the refit pending when the
	// catalogue changed (see ProfileStore).
	Ingest(ctx context.Context, b *datasets.Dataset) (Changed, error)
}

// CatalogueReader returns every competency and resource.
type CatalogueReader interface {
	Catalogue(ctx context.Context) ([]datasets.Competency, []datasets.Resource, error)
}

// StudentReader finds pupils: what access checks and class views need.
type StudentReader interface {
	Student(ctx context.Context, id string) (datasets.Student, error)
	// Access reads the pupil's class, consent and generation by primary key (see Access);
	// ErrNotFound when unknown.
	Access(ctx context.Context, id string) (Access, error)
	ClassStudents(ctx context.Context, classID string) ([]datasets.Student, error)
}

// Pupils reads pupils and their school events.
type Pupils interface {
	StudentReader
	SchoolStudents(ctx context.Context, schoolID string) ([]datasets.Student, error)
	// StudentIDs lists every pupil id, sorted.
	StudentIDs(ctx context.Context) ([]string, error)
	// PupilEvents returns the pupil's grades, absences, non-voided statements and their
	// class's lessons, each in time order.
	PupilEvents(ctx context.Context, id string) (features.PupilEvents, error)
	// EachPupilEvents calls fn with every pupil, in id order, at most batchSize (>= 1) per
	// call: for a consenting pupil their events as PupilEvents gives them; for one without
	// consent the Student only (their events are not read). Each batch is read in one
	// snapshot with a few set-based reads; pupils of one class in a batch share their
	// Lessons slice. fn must not modify the events; the store does not reuse them, so fn
	// may keep them. An error from fn stops the pass and is returned as is. This is how
	// a refit reads pupils in memory bounded by the batch.
	EachPupilEvents(ctx context.Context, batchSize int, fn func([]features.PupilEvents) error) error
}

// ProfileReader reads stored profiles.
type ProfileReader interface {
	// Profile returns the stored profile, with its Vector; ErrNotFound when none.
	Profile(ctx context.Context, id string) (features.Profile, error)
	// Profiles returns the stored profiles of ids that have one (with Vector), in ids order.
	Profiles(ctx context.Context, ids []string) ([]features.Profile, error)
}

// ModelStore keeps what a fit produces: profiles, resource vectors and the model state.
type ModelStore interface {
	ProfileReader
	PutProfiles(ctx context.Context, ps []features.Profile) error
	// PutResourceVectors replaces the resource vectors (same order as ids).
	PutResourceVectors(ctx context.Context, schemaVersion int, ids []string, vecs [][]float32) error
	// ModelState returns the fitted student model and vector layout, opaque to the store;
	// ErrNotFound when none yet.
	ModelState(ctx context.Context) ([]byte, error)
	PutModelState(ctx context.Context, state []byte) error
}

// DecisionLog keeps teachers' decisions and what was served to pupils.
type DecisionLog interface {
	Decisions(ctx context.Context, studentID string) ([]Decision, error) // oldest first
	AddDecision(ctx context.Context, d Decision) error
	// DecisionCounts counts decisions by value ("approve", ...) over a school's pupils
	// (all schools when schoolID is empty).
	DecisionCounts(ctx context.Context, schoolID string) (map[string]int, error)

	// LogServed records which resources were recommended to a pupil (personal data:
	// erased with the pupil, exported, purged with school data).
	LogServed(ctx context.Context, studentID string, resourceIDs []string, at time.Time) error
	// Uptake counts, over a school's pupils (all when empty), the (pupil, resource) pairs
	// served and how many of them the pupil then used (any statement on it within window
	// after being served), and the number of pupils served.
	Uptake(ctx context.Context, schoolID string, window time.Duration) (UptakeAggregate, error)
}

// PersonalData holds the RGPD operations on one pupil: consent, access, erasure.
type PersonalData interface {
	// SetConsent records the choice and marks the pupil stale in the same transaction
	// (the profile must follow: emptied on withdrawal, built on consent).
	SetConsent(ctx context.Context, id string, consent bool) error
	Export(ctx context.Context, id string) (Export, error)
	// DeleteStudent erases every trace of the pupil but the audit entries.
	DeleteStudent(ctx context.Context, id string) error
}

// Purger applies the retention periods (cmd/'s purge command).
type Purger interface {
	// Purge removes audit entries older than auditBefore and school events (grades,
	// absences, statements, lessons) older than dataBefore.
	Purge(ctx context.Context, auditBefore, dataBefore time.Time) (PurgeCounts, error)
}

// AuditAppender writes the audit trail.
type AuditAppender interface {
	// AppendAudit must be durable when it returns.
	AppendAudit(ctx context.Context, e AuditEntry) error
}

// AuditLog writes and reads the audit trail.
type AuditLog interface {
	AuditAppender
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// EngineStore is what the Engine reads and writes. It is a composition because the engine
// is the one consumer of nearly all of the domain's storage: it fits (Pupils, ModelStore),
// serves (VectorSearcher, DecisionLog), ingests and runs the RGPD operations on behalf of
// the API. It never touches the audit trail, retention or the connection.
type EngineStore interface {
	VectorSearcher
	Ingester
	CatalogueReader
	Pupils
	ModelStore
	DecisionLog
	PersonalData
	ProfileStore
}

// Store is everything a complete store implements: what memstore and pgstore state
// conformance to, what the conformance suite (storetest) exercises, and what cmd/ holds to
// wire one store into the engine, the API and the purge. Those three need every method;
// any other consumer declares the small interface it uses instead.
type Store interface {
	EngineStore
	Tombstones
	Purger
	AuditLog
	Ping(ctx context.Context) error
	Close() error
}

// Cache holds computed answers in buckets, one bucket per pupil, so that everything cached
// about a pupil is invalidated or erased in one step. Implementations: recommender/cache's
// Memory (in-process) and Redis. A cache error is never fatal to a request: the caller
// computes instead.
//
// Versions make invalidation race-free: Lookup hands out the bucket's version, Store writes
// only while the bucket still has it, and Drop removes the bucket (a later Lookup creates it
// with a fresh version). So an answer computed from data read before an invalidation is
// never kept after it, and after an erasure no entry about the pupil survives.
type Cache interface {
	// Lookup returns the bucket's version and the value of field, if any. A missing bucket
	// is created with a fresh, never-empty version living ttl. val may share the cache's
	// memory: callers must not modify it.
	Lookup(ctx context.Context, bucket, field string, ttl time.Duration) (version string, val []byte, ok bool, err error)
	// Store sets field to val for ttl only while the bucket's version is still version,
	// and reports whether it wrote.
	Store(ctx context.Context, bucket, version, field string, val []byte, ttl time.Duration) (bool, error)
	// Drop removes buckets with all their fields.
	Drop(ctx context.Context, buckets ...string) error
	Ping(ctx context.Context) error
}
