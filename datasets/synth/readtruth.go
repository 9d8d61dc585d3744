package synth

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/parcours-ent/parcours/datasets"
)

// ReadTruth reads the truth of a folder written by Generate: the folder's competencies
// and resources, and truth/ (simulator.json, items.csv, learners.csv, ability.csv).
func ReadTruth(dir string) (*Truth, error) {
	t, err := readTruth(dir)
	if err != nil {
		return nil, fmt.Errorf("synth.ReadTruth: %w", err)
	}
	return t, nil
}

func readTruth(dir string) (*Truth, error) {
	var info SimulatorInfo
	b, err := os.ReadFile(filepath.Join(dir, TruthDir, SimulatorFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", SimulatorFile, err)
	}
	if info.Params.LearnPeak == 0 {
		// Folders written before the learning peak was renamed call it target_p.
		var legacy struct {
			Params struct {
				TargetP     float64 `json:"target_p"`
				TargetWidth float64 `json:"target_width"`
			} `json:"params"`
		}
		if json.Unmarshal(b, &legacy) == nil {
			info.Params.LearnPeak, info.Params.LearnWidth = legacy.Params.TargetP, legacy.Params.TargetWidth
		}
	}
	if err := info.Params.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", SimulatorFile, err)
	}
	if info.Weeks <= 0 {
		return nil, fmt.Errorf("%s: weeks %d", SimulatorFile, info.Weeks)
	}
	var comps []datasets.Competency
	var res []datasets.Resource
	if err := readFile(filepath.Join(dir, datasets.CompetenciesFile), func(f *os.File) (err error) {
		comps, err = datasets.ReadCompetenciesAll(f, datasets.CompetenciesFile)
		return err
	}); err != nil {
		return nil, err
	}
	if err := readFile(filepath.Join(dir, datasets.ResourcesFile), func(f *os.File) (err error) {
		res, err = datasets.ReadResourcesAll(f, datasets.ResourcesFile)
		return err
	}); err != nil {
		return nil, err
	}
	diff := map[string]float64{}
	if err := readTruthCSV(dir, ItemsFile, itemsHeader, func(rec []string) error {
		v, err := strconv.ParseFloat(rec[2], 64)
		diff[rec[0]] = v
		return err
	}); err != nil {
		return nil, err
	}
	c, err := curriculumFrom(comps, res, diff)
	if err != nil {
		return nil, err
	}
	t := &Truth{Info: info, Difficulty: diff, m: &model{p: info.Params, c: c}, weeks: info.Weeks,
		abilities: map[abilityKey][]memCell{}, learner: map[string]int{}}
	if err := readTruthCSV(dir, LearnersFile, learnersHeader, func(rec []string) error {
		l := Learner{StudentID: rec[0], Level: datasets.LevelIndex(rec[1])}
		if l.Level < 0 {
			return fmt.Errorf("unknown level %q", rec[1])
		}
		var errs [3]error
		l.Global, errs[0] = strconv.ParseFloat(rec[2], 64)
		l.Offset, errs[1] = strconv.ParseFloat(rec[3], 64)
		l.Speed, errs[2] = strconv.ParseFloat(rec[4], 64)
		t.addLearner(l)
		return errors.Join(errs[:]...)
	}); err != nil {
		return nil, err
	}
	if err := readTruthCSV(dir, AbilityFile, abilityHeader, func(rec []string) error {
		k, ok := c.compIdx[rec[1]]
		if _, known := t.learner[rec[0]]; !ok || !known {
			return fmt.Errorf("unknown pupil or competency in %v", rec)
		}
		w, err := strconv.Atoi(rec[2])
		if err != nil || w < 0 || w >= t.weeks {
			return fmt.Errorf("bad week %q", rec[2])
		}
		s := compState{stab: 1, last: noLearning}
		var errs [3]error
		s.theta, errs[0] = strconv.ParseFloat(rec[3], 64)
		if len(rec) == len(abilityHeader) {
			var st float64
			var last int
			st, errs[1] = strconv.ParseFloat(rec[4], 64)
			last, errs[2] = strconv.Atoi(rec[5])
			if errs[1] == nil && (st < 1 || math.IsNaN(st)) || errs[2] == nil && (last < noLearning || last >= t.weeks) {
				return fmt.Errorf("stability %q or last week %q out of range", rec[4], rec[5])
			}
			s.stab, s.last = float32(st), int16(last)
		}
		t.setAbility(rec[0], int32(k), w, s)
		return errors.Join(errs[:]...)
	}, abilityHeaderV1); err != nil {
		return nil, err
	}
	return t, nil
}

func readFile(path string, fn func(*os.File) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(f)
}

// readTruthCSV reads one truth file whose header is header or one of the older ones.
func readTruthCSV(dir, name string, header []string, fn func([]string) error, older ...[]string) error {
	return readFile(filepath.Join(dir, TruthDir, name), func(f *os.File) error {
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		head, err := r.Read()
		ok := err == nil && slices.Equal(head, header)
		for _, h := range older {
			ok = ok || err == nil && slices.Equal(head, h)
		}
		if !ok {
			return fmt.Errorf("%s: header %v, want %v (%v)", name, head, header, err)
		}
		r.FieldsPerRecord = len(head)
		for line := 2; ; line++ {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if err == nil {
				err = fn(rec)
			}
			if err != nil {
				return fmt.Errorf("%s:%d: %w", name, line, err)
			}
		}
	})
}

// curriculumFrom rebuilds the world of a folder with the true difficulties.
func curriculumFrom(comps []datasets.Competency, res []datasets.Resource, diff map[string]float64) (*curriculum, error) {
	comps = slices.Clone(comps)
	slices.SortStableFunc(comps, func(a, b datasets.Competency) int {
		return datasets.LevelIndex(a.Level) - datasets.LevelIndex(b.Level)
	})
	c := &curriculum{comps: comps, compIdx: map[string]int{}, resIdx: map[string]int{}, res: res}
	for i, k := range comps {
		c.compIdx[k.ID] = i
	}
	lvl := 0
	for i, k := range comps {
		l := datasets.LevelIndex(k.Level)
		d, ok := diff[k.ID]
		if l < 0 || !ok {
			return nil, fmt.Errorf("competency %q: unknown level or no true difficulty", k.ID)
		}
		for lvl < l {
			lvl++
			c.levelLo[lvl] = i
		}
		var pre []int32
		for _, p := range k.Prerequisites {
			j, ok := c.compIdx[p]
			if !ok {
				return nil, fmt.Errorf("competency %q: unknown prerequisite %q", k.ID, p)
			}
			pre = append(pre, int32(j))
		}
		c.compDiff = append(c.compDiff, d)
		c.compLvl = append(c.compLvl, l)
		c.compHash = append(c.compHash, hashID(k.ID))
		c.compSubj = append(c.compSubj, slices.Index(subjects, k.Subject))
		c.prereq = append(c.prereq, pre)
	}
	for lvl < 7 {
		lvl++
		c.levelLo[lvl] = len(comps)
	}
	c.byComp = make([][]int32, len(comps))
	for i, r := range res {
		d, ok := diff[r.ID]
		if !ok {
			return nil, fmt.Errorf("resource %q: no true difficulty", r.ID)
		}
		var rc []int32
		for _, id := range r.Competencies {
			k, ok := c.compIdx[id]
			if !ok {
				return nil, fmt.Errorf("resource %q: unknown competency %q", r.ID, id)
			}
			rc = append(rc, int32(k))
			c.byComp[k] = append(c.byComp[k], int32(i))
		}
		t := slices.Index(typeNames[:], r.Type)
		if t < 0 || len(rc) == 0 {
			return nil, fmt.Errorf("resource %q: type %q or no competency", r.ID, r.Type)
		}
		c.resIdx[r.ID] = i
		c.resDiff = append(c.resDiff, d)
		c.resComps = append(c.resComps, rc)
		c.resType = append(c.resType, uint8(t))
	}
	return c, nil
}
