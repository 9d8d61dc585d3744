// Package api is Parcours's HTTP service: the contract's endpoints on gin, JWT
// authentication, the one authorisation policy, problem+json errors, caching of
// recommendations and paths, the audit trail of every read of a pupil's data, metrics and
// the OpenAPI document.
//
// It is the only place where domain errors become status codes. It must never log
// personal data (pupil ids, tokens, query strings), never answer with a pupil's data before
// the read is in the audit log, and never decide access anywhere but in policy.go.
package api

import (
	"context"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Engine is what the service needs from the recommender; *recommender.Engine implements
// it, tests use fakes. Errors are a *datasets.Error or wrap one of its codes
// (recommender.ErrNotFound, ErrInvalid, ErrConflict, ErrUnavailable).
type Engine interface {
	Ingest(ctx context.Context, b *datasets.Dataset) (recommender.Changed, error)
	Recommend(ctx context.Context, r recommender.Request) (recommender.Recommendations, error)
	Path(ctx context.Context, r recommender.PathRequest) (recommender.Path, error)
	Decide(ctx context.Context, d recommender.Decision) error
	ClassOverviewFor(ctx context.Context, classID, subject, lang string) (recommender.Overview, error)
	Analytics(ctx context.Context, schoolID string) (recommender.Analytics, error)
	SetConsent(ctx context.Context, id string, consent bool) error
	Export(ctx context.Context, id string) (recommender.Export, error)
	Erase(ctx context.Context, id string) error
	ModelVersion() string
}

var _ Engine = (*recommender.Engine)(nil)

// Store is what the service reads from the store itself; everything else goes through
// the Engine. It checks access (a pupil and its class), keeps and reads the audit trail,
// and answers readiness. memstore and pgstore implement it.
type Store interface {
	recommender.StudentReader
	recommender.AuditLog
	recommender.Tombstones
	// Decisions is a pupil's decision history, oldest first (recommender.DecisionLog).
	Decisions(ctx context.Context, studentID string) ([]recommender.Decision, error)
	Ping(ctx context.Context) error
}
