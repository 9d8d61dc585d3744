package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"
)

// Config describes the académie to generate. The zero value of every field means its
// default; Generate never modifies the caller's Config.
type Config struct {
	Students int    // pupils in the académie; default 300
	Seed     uint64 // same seed, same bytes
	// Start is the first day of the school year, moved back to its Monday, in UTC;
	// default Monday 1 September 2025.
	Start time.Time
	// Weeks is the length of the year in weeks from Start; default 43 (to late June).
	Weeks int
	// NoHolidays drops the four two-week school holidays (Toussaint, Noël, hiver,
	// printemps) that the calendar otherwise has at weeks 7-8, 16-17, 24-25 and 32-33.
	NoHolidays bool
	// SchoolSize is the mean number of pupils of a collège or lycée; default 500.
	SchoolSize int
	// ResourcesPerCompetency is the mean catalogue size per competency; default 20.
	ResourcesPerCompetency int
	// TruthStudents bounds the pupils whose weekly ability trajectory goes to
	// truth/ability.csv (every k-th pupil, k chosen so that at most this many are
	// written); default 1000. Every pupil's starting state is in truth/learners.csv.
	TruthStudents int
	// Workers is the number of schools simulated at once; default min(2, GOMAXPROCS).
	// Output does not depend on it.
	Workers int
	// Params of the learner model; zero means DefaultParams (with Params.Seed = Seed).
	Params *Params
}

func (c Config) withDefaults() (Config, error) {
	if c.Students < 0 || c.Weeks < 0 || c.SchoolSize < 0 || c.ResourcesPerCompetency < 0 || c.TruthStudents < 0 {
		return c, fmt.Errorf("synth: negative size in config %+v", c)
	}
	if c.Students == 0 {
		c.Students = 300
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2025, time.September, 1, 0, 0, 0, 0, time.UTC)
	}
	c.Start = c.Start.UTC().Truncate(24 * time.Hour)
	c.Start = c.Start.AddDate(0, 0, -((int(c.Start.Weekday()) + 6) % 7))
	if c.Weeks == 0 {
		c.Weeks = 43
	}
	if c.SchoolSize == 0 {
		c.SchoolSize = 500
	}
	if c.ResourcesPerCompetency == 0 {
		c.ResourcesPerCompetency = 20
	}
	if c.TruthStudents == 0 {
		c.TruthStudents = 1000
	}
	if c.Workers <= 0 {
		c.Workers = min(2, runtime.GOMAXPROCS(0))
	}
	if c.Params == nil {
		p := DefaultParams()
		p.Seed = c.Seed
		c.Params = &p
	}
	return c, nil
}

// holiday reports whether week w of the year is school holidays.
func (c Config) holiday(w int) bool {
	if c.NoHolidays {
		return false
	}
	switch w {
	case 7, 8, 16, 17, 24, 25, 32, 33:
		return true
	}
	return false
}

// schoolPlan is one school of the académie, fixed before any pupil is simulated so that
// ids and sub-seeds never depend on which worker simulates what.
type schoolPlan struct {
	index    int
	id       string
	lycee    bool
	first    int // global index of its first pupil
	students int
	seed     uint64
}

// planSchools splits the pupils into collèges (6e-3e) and lycées (2nde-Tle), about two
// collèges for each lycée, sizes jittered by ±20%.
func planSchools(cfg Config) []schoolPlan {
	n := max(1, int(math.Round(float64(cfg.Students)/float64(cfg.SchoolSize))))
	if cfg.Students >= 60 {
		n = max(n, 2) // at least one collège and one lycée: every level is present
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5c4001))
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = 0.8 + 0.4*rng.Float64()
		sum += w[i]
	}
	plans := make([]schoolPlan, n)
	first := 0
	for i := range plans {
		size := int(math.Round(float64(cfg.Students) * w[i] / sum))
		if i == n-1 {
			size = cfg.Students - first
		}
		size = min(size, cfg.Students-first)
		plans[i] = schoolPlan{
			index: i, id: fmt.Sprintf("etab-%04d", i+1), lycee: i%3 == 1,
			first: first, students: size, seed: splitmix(cfg.Seed ^ splitmix(uint64(i)+0xa11ce)),
		}
		first += size
	}
	return plans
}
