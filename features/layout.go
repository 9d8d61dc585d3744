package features

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
	"gonum.org/v1/gonum/mat"
)

// Vector-space constants (see doc.go for the layout).
const (
	// MaxDim is the largest vector dimension: pgvector's HNSW index stops at 2000.
	MaxDim = 2000
	// Factors is the number of latent usage factors.
	Factors = 8
	// extraDims are the attendance and engagement dims between the two blocks.
	extraDims = 3
	// MaxCompetencyDims is the size of the competency block; a larger catalogue hashes
	// its competencies into that many buckets.
	MaxCompetencyDims = MaxDim - extraDims - Factors

	weightSelfStudy = 0.15 // resource side of the absence dim
	weightShort     = 0.15 // resource side of the low-engagement dim
	weightLong      = 0.10 // resource side of the engagement dim
	weightLatent    = 0.30 // both sides of the latent block (unit vectors scaled by it)
	// svdSeed seeds the random projection of the truncated SVD: same usage, same factors.
	svdSeed = 0x5eed
)

// Layout describes the vector space shared by student and resource vectors. It is
// persisted with the model state (MarshalBinary) because stored vectors are only
// comparable with vectors made by the same layout.
type Layout struct {
	schema  int
	comps   []string       // competency ids, in catalogue order
	compDim map[string]int // competency -> dim in the competency block
	hashed  bool
	block   int                  // size of the competency block
	factors map[string][]float32 // resource id -> right singular vector row (Factors)
	sigma   []float64            // singular values, Factors of them (0 when absent)
}

// NewLayout derives the vector layout from the catalogue and latent factors fitted on
// the pupils' usage (a truncated SVD of the binary pupil × resource matrix).
func NewLayout(cat *datasets.Catalogue, pupils []PupilEvents) *Layout {
	u := NewUsageMatrix(cat)
	for i := range pupils {
		u.Add(&pupils[i])
	}
	return NewLayoutUsage(cat, u)
}

// NewLayoutFrom is NewLayout over a source (one pass; it keeps only the sparse usage
// matrix, a few int32 per pupil).
func NewLayoutFrom(cat *datasets.Catalogue, src PupilSource) (*Layout, error) {
	u := NewUsageMatrix(cat)
	if err := src(func(ev *PupilEvents) error {
		u.Add(ev)
		return nil
	}); err != nil {
		return nil, err
	}
	return NewLayoutUsage(cat, u), nil
}

// UsageMatrix is the binary pupil × resource usage matrix the layout's latent factors
// are fitted on, built pupil by pupil (Add) during a pass made for other purposes too.
// It holds the used resources' catalogue indexes as int32, sorted, one row per pupil
// with usage.
type UsageMatrix struct {
	cat  *datasets.Catalogue
	rows [][]int32
	seen map[int32]bool
}

// NewUsageMatrix starts an empty usage matrix over the catalogue's resources.
func NewUsageMatrix(cat *datasets.Catalogue) *UsageMatrix {
	return &UsageMatrix{cat: cat, seen: map[int32]bool{}}
}

// Add appends the pupil's row: the catalogue resources of the statements that feed the
// model (a pupil without any adds no row).
func (u *UsageMatrix) Add(ev *PupilEvents) {
	clear(u.seen)
	for i := range ev.Statements {
		s := &ev.Statements[i]
		if !feeds(s.Verb) {
			continue
		}
		if j, ok := u.cat.ResourceIndex(s.ObjectID); ok {
			u.seen[int32(j)] = true
		}
	}
	if len(u.seen) == 0 {
		return
	}
	row := make([]int32, 0, len(u.seen))
	for j := range u.seen {
		row = append(row, j)
	}
	slices.Sort(row)
	u.rows = append(u.rows, row)
}

// NewLayoutUsage is NewLayout with the usage matrix already built (the rows in pupil
// order, as Add was called).
func NewLayoutUsage(cat *datasets.Catalogue, u *UsageMatrix) *Layout {
	l := &Layout{schema: SchemaVersion, compDim: make(map[string]int, len(cat.Competencies))}
	l.hashed = len(cat.Competencies) > MaxCompetencyDims
	l.block = len(cat.Competencies)
	if l.hashed {
		l.block = MaxCompetencyDims
	}
	for i, k := range cat.Competencies {
		l.comps = append(l.comps, k.ID)
		if l.hashed {
			l.compDim[k.ID] = bucket(k.ID, l.block)
		} else {
			l.compDim[k.ID] = i
		}
	}
	l.factors, l.sigma = usageFactors(cat, u.rows)
	return l
}

func bucket(id string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// Dim is the vector dimension.
func (l *Layout) Dim() int { return l.block + extraDims + Factors }

// Schema is the SchemaVersion the layout was made with.
func (l *Layout) Schema() int { return l.schema }

// StudentVector returns the pupil's vector (callers store it in p.Vector).
func (l *Layout) StudentVector(p *Profile) []float32 {
	v := make([]float32, l.Dim())
	for c, cs := range p.Competencies {
		if d, ok := l.compDim[c]; ok {
			v[d] = max(v[d], float32(cs.Need))
		}
	}
	x := l.block
	v[x] = float32(min(max(p.Absence.Rate30d, 0), 1))
	eng := Engagement(p.Usage)
	v[x+1] = float32(1 - eng)
	v[x+2] = float32(eng)
	u := make([]float64, Factors)
	for _, r := range p.Usage.Seen {
		if f, ok := l.factors[r]; ok {
			for j := range Factors {
				if l.sigma[j] > 0 {
					u[j] += float64(f[j]) / l.sigma[j]
				}
			}
		}
	}
	putUnit(v[x+extraDims:], u, weightLatent)
	return v
}

// Engagement is a 0..1 summary of usage: half regularity (sessions, saturating at 20),
// half follow-through (completion rate).
func Engagement(u UsageFeatures) float64 {
	return 0.5*min(float64(u.Sessions)/20, 1) + 0.5*min(max(u.CompletionRate, 0), 1)
}

func putUnit(dst []float32, u []float64, scale float64) {
	n := 0.0
	for _, x := range u {
		n += x * x
	}
	if n == 0 {
		return
	}
	n = math.Sqrt(n)
	for j, x := range u {
		dst[j] = float32(scale * x / n)
	}
}

// ResourceVector is the resource's vector: a dot product with a student vector means
// "this resource serves this pupil's needs".
func (l *Layout) ResourceVector(r *datasets.Resource) []float32 {
	v := make([]float32, l.Dim())
	if n := len(r.Competencies); n > 0 {
		for _, c := range r.Competencies {
			if d, ok := l.compDim[c]; ok {
				v[d] += float32(1 / float64(n))
			}
		}
	}
	x := l.block
	v[x] = float32(weightSelfStudy * selfStudy(r.Type))
	length := min(max(float64(r.DurationMin), 0)/30, 1)
	v[x+1] = float32(weightShort * (1 - length))
	v[x+2] = float32(weightLong * length)
	if f, ok := l.factors[r.ID]; ok {
		u := make([]float64, Factors)
		for j := range Factors {
			u[j] = float64(f[j])
		}
		putUnit(v[x+extraDims:], u, weightLatent)
	}
	return v
}

// selfStudy is how well a resource type lets a pupil catch up alone on a missed lesson.
func selfStudy(typ string) float64 {
	switch typ {
	case datasets.ResourceVideo, datasets.ResourceSheet:
		return 1
	case datasets.ResourceExercise:
		return 0.5
	case datasets.ResourceQuiz:
		return 0.3
	}
	return 0.5
}

// usageFactors runs a randomised truncated SVD (Halko, Martinsson & Tropp 2011: random
// projection, two power iterations, then an exact SVD of the small projected matrix)
// on the binary pupil × resource usage matrix, without ever forming it densely.
func usageFactors(cat *datasets.Catalogue, rows [][]int32) (map[string][]float32, []float64) {
	sigma := make([]float64, Factors)
	nR := len(cat.Resources)
	k := Factors + 4
	if len(rows) < k || nR < k {
		return map[string][]float32{}, sigma
	}
	rng := rand.New(rand.NewPCG(svdSeed, svdSeed))
	omega := mat.NewDense(nR, k, nil)
	for i := range nR {
		for j := range k {
			omega.Set(i, j, rng.NormFloat64())
		}
	}
	y := mulA(rows, omega, k)
	for range 2 {
		z := mulAT(rows, orth(y), nR, k)
		y = mulA(rows, orth(z), k)
	}
	q := orth(y)
	bt := mulAT(rows, q, nR, k) // Bᵀ = Aᵀ Q, nR × k
	var svd mat.SVD
	if !svd.Factorize(bt, mat.SVDThin) {
		return map[string][]float32{}, sigma
	}
	vals := svd.Values(nil)
	var u mat.Dense // left vectors of Bᵀ = right vectors of B = resource factors
	svd.UTo(&u)
	out := make(map[string][]float32, nR)
	for i := range nR {
		f := make([]float32, Factors)
		nz := false
		for j := range Factors {
			f[j] = float32(u.At(i, j))
			nz = nz || f[j] != 0
		}
		if nz {
			out[cat.Resources[i].ID] = f
		}
	}
	for j := range Factors {
		if j < len(vals) && vals[j] > 1e-9 {
			sigma[j] = vals[j]
		}
	}
	return out, sigma
}

// mulA returns A·X for the sparse binary A given by rows (len(rows) × nR).
func mulA(rows [][]int32, x *mat.Dense, k int) *mat.Dense {
	y := mat.NewDense(len(rows), k, nil)
	for i, row := range rows {
		dst := y.RawRowView(i)
		for _, j := range row {
			for c, v := range x.RawRowView(int(j)) {
				dst[c] += v
			}
		}
	}
	return y
}

// mulAT returns Aᵀ·X (nR × k).
func mulAT(rows [][]int32, x *mat.Dense, nR, k int) *mat.Dense {
	z := mat.NewDense(nR, k, nil)
	for i, row := range rows {
		src := x.RawRowView(i)
		for _, j := range row {
			dst := z.RawRowView(int(j))
			for c, v := range src {
				dst[c] += v
			}
		}
	}
	return z
}

// orth returns an orthonormal basis of the columns of a by modified Gram–Schmidt, run
// twice for stability (a thin QR: gonum's QR would build the full n × n Q). A column that
// is numerically dependent on the previous ones becomes zero.
func orth(a *mat.Dense) *mat.Dense {
	r, c := a.Dims()
	q := mat.DenseCopyOf(a)
	raw := q.RawMatrix()
	col := func(j int) []float64 { // strided copy
		v := make([]float64, r)
		for i := range r {
			v[i] = raw.Data[i*raw.Stride+j]
		}
		return v
	}
	cols := make([][]float64, c)
	for j := range c {
		cols[j] = col(j)
	}
	for range 2 {
		for j := range c {
			for p := range j {
				d := dot(cols[p], cols[j])
				for i := range r {
					cols[j][i] -= d * cols[p][i]
				}
			}
			n := math.Sqrt(dot(cols[j], cols[j]))
			for i := range r {
				if n > 1e-12 {
					cols[j][i] /= n
				} else {
					cols[j][i] = 0
				}
			}
		}
	}
	for j := range c {
		for i := range r {
			raw.Data[i*raw.Stride+j] = cols[j][i]
		}
	}
	return q
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

type layoutState struct {
	Schema  int                  `json:"schema"`
	Comps   []string             `json:"competencies"`
	Hashed  bool                 `json:"hashed"`
	Factors map[string][]float32 `json:"factors"`
	Sigma   []float64            `json:"sigma"`
}

// MarshalBinary persists the layout (JSON).
func (l *Layout) MarshalBinary() ([]byte, error) {
	b, err := json.Marshal(layoutState{Schema: l.schema, Comps: l.comps, Hashed: l.hashed, Factors: l.factors, Sigma: l.sigma})
	if err != nil {
		return nil, fmt.Errorf("features.Layout.MarshalBinary: %w", err)
	}
	return b, nil
}

// UnmarshalBinary restores a layout written by MarshalBinary. It refuses another
// SchemaVersion: vectors made by another layout are not comparable.
func (l *Layout) UnmarshalBinary(data []byte) error {
	var st layoutState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("features.Layout.UnmarshalBinary: %w", err)
	}
	if st.Schema != SchemaVersion {
		return fmt.Errorf("features.Layout.UnmarshalBinary: schema %d, want %d", st.Schema, SchemaVersion)
	}
	if len(st.Sigma) != Factors {
		return fmt.Errorf("features.Layout.UnmarshalBinary: %d singular values, want %d", len(st.Sigma), Factors)
	}
	for id, f := range st.Factors {
		if len(f) != Factors {
			return fmt.Errorf("features.Layout.UnmarshalBinary: resource %q: %d factors, want %d", id, len(f), Factors)
		}
	}
	nl := Layout{schema: st.Schema, comps: st.Comps, hashed: st.Hashed, factors: st.Factors, sigma: st.Sigma,
		compDim: make(map[string]int, len(st.Comps)), block: len(st.Comps)}
	if nl.hashed {
		nl.block = MaxCompetencyDims
	} else if nl.block > MaxCompetencyDims {
		return fmt.Errorf("features.Layout.UnmarshalBinary: %d competencies unhashed", nl.block)
	}
	for i, c := range st.Comps {
		if nl.hashed {
			nl.compDim[c] = bucket(c, nl.block)
		} else {
			nl.compDim[c] = i
		}
	}
	if nl.factors == nil {
		nl.factors = map[string][]float32{}
	}
	*l = nl
	return nil
}
