package offline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
)

// Config is one evaluation run.
type Config struct {
	DataDir string // the data folder (truth/ read when present)
	OutDir  string // where report.md, report.json and the PNGs go
	K       int    // list length scored (default 10)
	Seed    uint64 // seeds random, bootstrap, simulator and engine (default 1)
	// Engine is the configuration serve gives the engine (cmd/parcours builds both from
	// the same environment); the evaluation sets only Seed, Now and Location on top.
	Engine recommender.Config
	// Progress, when set, is called as pupils are scored and simulated.
	Progress func(done, total int)
	// Quantile of statement times the split falls on (default 0.75).
	Quantile float64
	// Resamples of the bootstrap (default 1000).
	Resamples int
	// SimWeeks is how many weeks pupils follow each policy in the simulator (default 8).
	SimWeeks int
	// SimVariants names the simulator variants to run (synth.Variants); empty: all.
	SimVariants []string
	// Workers is how many simulations run at once (default 2).
	Workers int
	// RankPupils bounds the pupils whose lists are ranked at the split: a seeded sample
	// of those with a ground truth when there are more (default 4000; the ranking of every
	// policy and ablation through the engine is most of a large run's time).
	RankPupils int
	// SimPupils bounds the pupils the simulator follows: a seeded sample of whole classes
	// (the bootstrap's clusters) when the truth restores more (default 2000). Every
	// policy is simulated on the same sample; below the bound nothing changes.
	SimPupils int
	// Arms names the Parcours variants (ablations and arms such as exploration, see
	// Variants) evaluated beside the full engine; empty: all of them.
	Arms []string
}

// Slice is one group of pupils in a slice kind.
type Slice struct {
	Label  string             `json:"slice"`
	Pupils int                `json:"pupils"`
	Values map[string]float64 `json:"metrics"`
}

// Gap is the spread of one metric across the slices of one kind.
type Gap struct {
	Best  string  `json:"best"`
	Worst string  `json:"worst"`
	Gap   float64 `json:"gap"`
}

// PolicyReport is one policy's figures. Ranking metrics are on the lists at the split;
// learning_gain and simulation are those of the default simulator variant (every
// variant is in Report.Variants).
type PolicyReport struct {
	NDCG             float64                    `json:"ndcg_at_k"`
	Recall           float64                    `json:"recall_at_k"`
	HitRate          float64                    `json:"hit_rate_at_k"`
	MRR              float64                    `json:"mrr"`
	Coverage         float64                    `json:"coverage"`
	Novelty          float64                    `json:"novelty"`
	Diversity        float64                    `json:"diversity"`
	Filled           float64                    `json:"filled_share"`
	RankingPupils    int                        `json:"ranking_pupils"`
	InBand           *float64                   `json:"in_band_share,omitempty"`
	PrereqViolations int                        `json:"prereq_violations"`
	PrereqShare      float64                    `json:"prereq_violation_share"`
	PrereqJudgedBy   string                     `json:"prereq_judged_by"`
	LearningGain     *float64                   `json:"learning_gain,omitempty"`
	HeadroomCaptured *Interval                  `json:"headroom_captured,omitempty"`
	CI               map[string]Interval        `json:"ci"`
	ByK              map[int]map[string]float64 `json:"by_k"`
	Slices           map[string][]Slice         `json:"slices"`
	SliceGaps        map[string]map[string]Gap  `json:"slice_gaps"`
	Simulation       *GainResult                `json:"simulation,omitempty"`
}

// GainResult is one policy's simulated run under one simulator variant.
type GainResult struct {
	// Gain is, per pupil, the change of mean true ability (logits) over the competencies
	// of their level and the one below after the last week; CI over resampled clusters.
	Gain Interval `json:"learning_gain"`
	// ByWeek is the mean gain after each week (CI over pupils).
	ByWeek []Interval `json:"by_week"`
	// SuccessRate is the share of practised items answered right.
	SuccessRate float64 `json:"success_rate"`
	// InBand is the share of listed items whose true P(success) was within Band of the
	// variant's learning peak; PrereqShare the share with a truly unmastered prerequisite.
	InBand      float64 `json:"in_band_share"`
	PrereqShare float64 `json:"prereq_violation_share"`
	// ItemsPerWeek is the mean number of eligible items listed per pupil and week.
	ItemsPerWeek float64 `json:"items_per_week"`
	// Headroom is (gain − no_recommendation) / (oracle − no_recommendation).
	Headroom *Interval `json:"headroom_captured,omitempty"`
}

// VariantReport is one simulator variant: its learning law and every policy's run.
type VariantReport struct {
	Description string                 `json:"description"`
	Params      synth.Params           `json:"params"`
	Order       []string               `json:"policy_order"`
	Policies    map[string]*GainResult `json:"policies"`
	// Paired are Parcours minus each reference on the learning gain, Holm-corrected
	// within the variant.
	Paired []Effect `json:"paired"`
	// Ablations are Parcours minus each of its variants (default simulator variant only).
	Ablations        []Effect  `json:"ablations,omitempty"`
	HeadroomCaptured *Interval `json:"headroom_captured,omitempty"`
}

// Report is what Run measured; report.json is its JSON.
type Report struct {
	K               int       `json:"k"`
	Seed            uint64    `json:"seed"`
	DataDir         string    `json:"data_dir"`
	SplitAt         time.Time `json:"split_at"`
	SplitQuantile   float64   `json:"split_quantile"`
	SplitOn         string    `json:"split_on"`
	Pupils          int       `json:"pupils"`
	EvaluatedPupils int       `json:"evaluated_pupils"`
	RankedPupils    int       `json:"ranked_pupils"`
	Resources       int       `json:"resources"`
	TrainStatements int       `json:"train_statements"`
	TestStatements  int       `json:"test_statements"`
	TruthItems      int       `json:"truth_items"`
	HasTruth        bool      `json:"has_truth"`
	// RankingEvaluable is false when no pupil has a ground truth (no successful usage
	// after the split, e.g. a folder without usage): ranking metrics are then 0 over no
	// pupil and mean nothing; coverage, diversity and violations are over ListPupils.
	RankingEvaluable bool                     `json:"ranking_evaluable"`
	ListPupils       int                      `json:"list_pupils,omitempty"`
	SimulatedPupils  int                      `json:"simulated_pupils,omitempty"`
	SimWeeks         int                      `json:"simulated_weeks,omitempty"`
	InBandPupils     int                      `json:"in_band_pupils,omitempty"`
	TargetSuccess    float64                  `json:"engine_target_success"`
	Resampled        string                   `json:"resampled"`
	Order            []string                 `json:"policy_order"`
	Policies         map[string]*PolicyReport `json:"policies"`
	// PairedRanking are Parcours minus each reference on NDCG@k, Holm-corrected.
	PairedRanking []Effect `json:"paired_ranking"`
	// AblationsRanking are Parcours minus each of its variants on NDCG@k.
	AblationsRanking []Effect `json:"ablations_ranking"`
	// HeadroomCaptured is Parcours's share of the oracle's headroom under the default
	// simulator variant.
	HeadroomCaptured *Interval                 `json:"headroom_captured,omitempty"`
	VariantOrder     []string                  `json:"variant_order,omitempty"`
	Variants         map[string]*VariantReport `json:"variants,omitempty"`
	Elapsed          string                    `json:"elapsed"`
	// Phases is the wall time of split+fit, ranking and simulation (the rest is loading
	// and writing).
	Phases map[string]string `json:"phases,omitempty"`
}

func (c Config) withDefaults() Config {
	if c.K <= 0 {
		c.K = 10
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Quantile <= 0 || c.Quantile >= 1 {
		c.Quantile = 0.75
	}
	if c.Resamples <= 0 {
		c.Resamples = 1000
	}
	if c.SimWeeks <= 0 {
		c.SimWeeks = simWeeks
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.RankPupils <= 0 {
		c.RankPupils = 4000
	}
	if c.SimPupils <= 0 {
		c.SimPupils = 2000
	}
	return c
}

// Run evaluates the folder cfg.DataDir and writes report.md, report.json and the PNG
// plots into cfg.OutDir. Bad input is returned wrapping datasets.ErrInvalid.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	begin := time.Now()
	cfg = cfg.withDefaults()
	ds, err := datasets.LoadFolder(cfg.DataDir, datasets.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("offline.Run: %w", err)
	}
	var truth *synth.Truth
	if _, err := os.Stat(filepath.Join(cfg.DataDir, synth.TruthDir)); err == nil {
		if truth, err = synth.ReadTruth(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("offline.Run: %w", err)
		}
	}
	rep, err := evaluate(ctx, ds, truth, cfg, true)
	if err != nil {
		return nil, fmt.Errorf("offline.Run: %w", err)
	}
	rep.DataDir = cfg.DataDir
	rep.Elapsed = time.Since(begin).Round(time.Second).String()
	if err := Write(rep, cfg.OutDir); err != nil {
		return nil, fmt.Errorf("offline.Run: %w", err)
	}
	return rep, nil
}

// simVariants are the simulator variants cfg asks for.
func simVariants(truth *synth.Truth, cfg Config) ([]synth.Variant, error) {
	all := synth.Variants(truth.Info.Params)
	if len(cfg.SimVariants) == 0 {
		return all, nil
	}
	var out []synth.Variant
	for _, name := range cfg.SimVariants {
		i := slices.IndexFunc(all, func(v synth.Variant) bool { return v.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown simulator variant %q: %w", name, datasets.ErrInvalid)
		}
		out = append(out, all[i])
	}
	return out, nil
}
