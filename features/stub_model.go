package features

// TEMPORARY: signatures the recommender codes against while the features helper builds
// the real model. The features helper deletes this file and implements the same API.

import (
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// ModelConfig holds the student model's hyper-parameters.
type ModelConfig struct {
	Alpha float64 // K = Alpha / (1 + Beta·n)
	Beta  float64
}

// DefaultModelConfig returns documented defaults.
func DefaultModelConfig() ModelConfig { return ModelConfig{Alpha: 1, Beta: 0.05} }

// Model is the Elo/IRT student model: global item parameters (resource and assessment
// difficulties learned from all pupils) plus the rules that update one pupil.
// It is safe for concurrent reads; Fit and the Update* methods need exclusive access.
type Model struct{}

// NewModel returns an empty model.
func NewModel(cfg ModelConfig) *Model { panic("features: not implemented yet") }

// Fit learns item difficulties from every pupil's events, in global time order, and
// returns each pupil's profile as of asOf.
func (m *Model) Fit(cat *datasets.Catalogue, pupils []PupilEvents, asOf time.Time) ([]Profile, error) {
	panic("features: not implemented yet")
}

// BuildProfile recomputes one pupil's profile from their events with the current item
// parameters (which it does not change).
func (m *Model) BuildProfile(cat *datasets.Catalogue, ev PupilEvents, asOf time.Time) (Profile, error) {
	panic("features: not implemented yet")
}

// Predict returns P(success) of the pupil on the resource.
func (m *Model) Predict(p *Profile, r *datasets.Resource) float64 {
	panic("features: not implemented yet")
}

// Difficulty returns the learned difficulty of a resource (its catalogue difficulty when
// the model has seen too few attempts).
func (m *Model) Difficulty(r *datasets.Resource) float64 { panic("features: not implemented yet") }

// Version identifies the fitted parameters; it changes whenever they do.
func (m *Model) Version() string { panic("features: not implemented yet") }

// MarshalBinary and UnmarshalBinary persist the fitted parameters.
func (m *Model) MarshalBinary() ([]byte, error)    { panic("features: not implemented yet") }
func (m *Model) UnmarshalBinary(data []byte) error { panic("features: not implemented yet") }

// Layout describes the vector space shared by student and resource vectors.
type Layout struct{}

// NewLayout derives the vector layout from the catalogue (and latent factors fitted on
// the usage matrix, when usage is given).
func NewLayout(cat *datasets.Catalogue, pupils []PupilEvents) *Layout {
	panic("features: not implemented yet")
}

// Dim is the vector dimension.
func (l *Layout) Dim() int { panic("features: not implemented yet") }

// StudentVector fills p.Vector.
func (l *Layout) StudentVector(p *Profile) []float32 { panic("features: not implemented yet") }

// ResourceVector is the resource's vector: a dot product with a student vector means
// "this resource serves this pupil's needs".
func (l *Layout) ResourceVector(r *datasets.Resource) []float32 {
	panic("features: not implemented yet")
}
