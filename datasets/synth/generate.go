package synth

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parcours-ent/parcours/datasets"
)

// Truth file names, under DIR/truth/.
const (
	TruthDir       = "truth"
	AbilityFile    = "ability.csv"
	ItemsFile      = "items.csv"
	LearnersFile   = "learners.csv"
	SimulatorFile  = "simulator.json"
	itemCompetency = "competency"
	itemAssessment = "assessment"
)

var (
	abilityHeader = []string{"student_id", "competency_id", "week", "ability", "stability", "last_week"}
	// abilityHeaderV1 is the header of folders written before memory stability was
	// modelled: read with stability 1 and no learning week.
	abilityHeaderV1 = []string{"student_id", "competency_id", "week", "ability"}
	itemsHeader     = []string{"item_id", "kind", "difficulty"}
	learnersHeader  = []string{"student_id", "level", "global", "offset", "speed"}
)

// SimulatorInfo is truth/simulator.json: everything besides the per-pupil and per-item
// files that a re-simulation needs.
type SimulatorInfo struct {
	Params     Params `json:"params"`
	Start      string `json:"start"` // Monday of week 0, RFC 3339
	Weeks      int    `json:"weeks"`
	Holidays   []int  `json:"holiday_weeks"`
	TruthEvery int    `json:"truth_every"` // ability.csv holds every k-th pupil
	Model      string `json:"model"`
}

const modelDoc = "P(success)=sigmoid(mean ability of the item's competencies - difficulty); " +
	"practice gain=practice_rate*speed*exp(-((p-learn_peak)/learn_width)^2/2)*prereq; " +
	"lesson gain=lesson_rate*speed*2*sigmoid(d+ceiling-theta)*prereq (absent: *absent_lesson_share); " +
	"prereq=prereq_floor+(1-prereq_floor)*mean sigmoid(theta_q-d_q); " +
	"first learning of a week: stability+=spacing_gain*(1-exp(-weeks since last/spacing_weeks)); " +
	"weekly forgetting: theta=floor+(theta-floor)*(1-forgetting_rate/stability); see docs/simulator.md"

// flushSink is a sink whose output is complete once flushed.
type flushSink interface {
	sink
	flush() error
}

// file indexes of the per-school buffers.
const (
	fStudents = iota
	fLessons
	fGrades
	fAbsences
	fUsage
	fAbility
	fLearners
	fAssess
	nFiles
)

var fileNames = [nFiles]string{datasets.StudentsFile, datasets.LessonsFile, datasets.GradesFile, datasets.AbsencesFile,
	datasets.UsageFile, filepath.Join(TruthDir, AbilityFile), filepath.Join(TruthDir, LearnersFile), ""}

// bufferSink writes one school's rows into memory buffers, later appended in school
// order to the files: schools can be simulated in parallel, bytes stay the same.
type bufferSink struct {
	c    *curriculum
	buf  [nFiles]chunkBuf
	csv  [nFiles]*csv.Writer
	err  error
	rec6 [6]string
}

func newBufferSink(c *curriculum) *bufferSink {
	s := &bufferSink{c: c}
	for i := range s.csv {
		s.csv[i] = csv.NewWriter(&s.buf[i])
	}
	return s
}

func (s *bufferSink) write(f int, rec []string) {
	if err := s.csv[f].Write(rec); err != nil && s.err == nil {
		s.err = err
	}
}

func (s *bufferSink) student(x datasets.Student) { s.write(fStudents, x.Record()) }
func (s *bufferSink) lesson(x datasets.Lesson)   { s.write(fLessons, x.Record()) }
func (s *bufferSink) grade(x datasets.Grade)     { s.write(fGrades, x.Record()) }
func (s *bufferSink) absence(x datasets.Absence) { s.write(fAbsences, x.Record()) }
func (s *bufferSink) learner(l Learner) {
	s.write(fLearners, []string{l.StudentID, datasets.Levels[l.Level], datasets.FormatFloat(l.Global),
		datasets.FormatFloat(l.Offset), datasets.FormatFloat(l.Speed)})
}
func (s *bufferSink) assessment(id string, b float64) {
	s.write(fAssess, []string{id, itemAssessment, datasets.FormatFloat(b)})
}
func (s *bufferSink) ability(id string, c int32, week int, v compState) {
	s.rec6 = [6]string{id, s.c.comps[c].ID, strconv.Itoa(week), datasets.FormatFloat(round4(v.theta)),
		datasets.FormatFloat(round4(float64(v.stab))), strconv.Itoa(int(v.last))}
	s.write(fAbility, s.rec6[:])
}
func (s *bufferSink) statement(x datasets.Statement) {
	b, err := x.MarshalXAPI()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	b = append(b, '\n')
	s.buf[fUsage].Write(b)
}

func (s *bufferSink) flush() error {
	for _, w := range s.csv {
		w.Flush()
		if err := w.Error(); err != nil && s.err == nil {
			s.err = err
		}
	}
	return s.err
}

// Generate writes a synthetic académie to dir (created if needed): competencies.csv,
// resources.csv, students.csv, lessons.csv, grades.csv, absences.csv, usage.jsonl and
// truth/ (ability.csv, items.csv, learners.csv, simulator.json). progress, if not nil,
// is called with the pupils done so far after each school. Memory stays bounded by the
// schools in flight, whatever cfg.Students is.
func Generate(cfg Config, dir string, progress func(done, total int)) (err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return err
	}
	g := newGenerator(cfg)
	if err := os.MkdirAll(filepath.Join(dir, TruthDir), 0o755); err != nil {
		return fmt.Errorf("synth.Generate: %w", err)
	}
	files := make([]*os.File, 0, nFiles)
	defer func() {
		for _, f := range files {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("synth.Generate: %w", cerr)
			}
		}
	}()
	var outs [nFiles]*bufio.Writer
	headers := [nFiles][]string{datasets.StudentsHeader, datasets.LessonsHeader, datasets.GradesHeader,
		datasets.AbsencesHeader, nil, abilityHeader, learnersHeader}
	for i, name := range fileNames {
		if name == "" {
			continue
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("synth.Generate: %w", err)
		}
		files = append(files, f)
		outs[i] = bufio.NewWriterSize(f, 1<<20)
		if headers[i] != nil {
			if err := writeCSV(outs[i], [][]string{headers[i]}); err != nil {
				return fmt.Errorf("synth.Generate: %s: %w", name, err)
			}
		}
	}
	var assess bytes.Buffer
	plans := planSchools(cfg)
	done := 0
	newSink := func() flushSink { return newBufferSink(g.m.c) }
	err = g.runParallel(plans, newSink, func(p schoolPlan, fs flushSink) error {
		s := fs.(*bufferSink)
		for i, w := range outs {
			if w != nil {
				if _, err := s.buf[i].WriteTo(w); err != nil {
					return fmt.Errorf("%s: %w", fileNames[i], err)
				}
			}
		}
		s.buf[fAssess].WriteTo(&assess)
		done += p.students
		if progress != nil {
			progress(done, cfg.Students)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("synth.Generate: %w", err)
	}
	for i, w := range outs {
		if w != nil {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("synth.Generate: %s: %w", fileNames[i], err)
			}
		}
	}
	if err := g.writeWorld(dir, assess.Bytes()); err != nil {
		return fmt.Errorf("synth.Generate: %w", err)
	}
	return nil
}

func newGenerator(cfg Config) *generator {
	c := newCurriculum(cfg.Seed, cfg.ResourcesPerCompetency)
	return &generator{cfg: cfg, m: &model{p: *cfg.Params, c: c},
		truthEvery: max(1, (cfg.Students+cfg.TruthStudents-1)/cfg.TruthStudents)}
}

// runParallel simulates schools on cfg.Workers goroutines and hands each finished
// school to emit in plan order, holding at most 2×Workers schools at once.
func (g *generator) runParallel(plans []schoolPlan, newSink func() flushSink, emit func(schoolPlan, flushSink) error) error {
	results := make([]chan flushSink, len(plans))
	for i := range results {
		results[i] = make(chan flushSink, 1)
	}
	sem := make(chan struct{}, 2*g.cfg.Workers)
	jobs := make(chan int)
	quit := make(chan struct{})
	defer close(quit)
	for w := 0; w < g.cfg.Workers; w++ {
		go func() {
			for i := range jobs {
				s := newSink()
				g.runSchool(plans[i], s)
				results[i] <- s
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range plans {
			select {
			case sem <- struct{}{}:
			case <-quit:
				return
			}
			select {
			case jobs <- i:
			case <-quit:
				return
			}
		}
	}()
	for i, p := range plans {
		s := <-results[i]
		<-sem
		if err := s.flush(); err != nil {
			return fmt.Errorf("school %s: %w", p.id, err)
		}
		if err := emit(p, s); err != nil {
			return err
		}
	}
	return nil
}

// writeWorld writes the files that do not depend on pupils: the competency graph, the
// catalogue, the true item difficulties and the simulator's description.
func (g *generator) writeWorld(dir string, assessments []byte) error {
	c := g.m.c
	comps := [][]string{datasets.CompetenciesHeader}
	for _, k := range c.comps {
		comps = append(comps, k.Record())
	}
	res := [][]string{datasets.ResourcesHeader}
	for _, r := range c.res {
		res = append(res, r.Record())
	}
	items := [][]string{itemsHeader}
	for i, k := range c.comps {
		items = append(items, []string{k.ID, itemCompetency, datasets.FormatFloat(c.compDiff[i])})
	}
	for i, r := range c.res {
		items = append(items, []string{r.ID, r.Type, datasets.FormatFloat(c.resDiff[i])})
	}
	var errs []error
	errs = append(errs, writeCSVFile(filepath.Join(dir, datasets.CompetenciesFile), comps, nil),
		writeCSVFile(filepath.Join(dir, datasets.ResourcesFile), res, nil),
		writeCSVFile(filepath.Join(dir, TruthDir, ItemsFile), items, assessments))
	info, err := json.MarshalIndent(g.info(), "", "  ")
	if err != nil {
		return err
	}
	errs = append(errs, os.WriteFile(filepath.Join(dir, TruthDir, SimulatorFile), append(info, '\n'), 0o644))
	return errors.Join(errs...)
}

func (g *generator) info() SimulatorInfo {
	var hol []int
	for w := 0; w < g.cfg.Weeks; w++ {
		if g.cfg.holiday(w) {
			hol = append(hol, w)
		}
	}
	return SimulatorInfo{Params: *g.cfg.Params, Start: datasets.FormatTime(g.cfg.Start), Weeks: g.cfg.Weeks,
		Holidays: hol, TruthEvery: g.truthEvery, Model: modelDoc}
}

func writeCSV(w *bufio.Writer, recs [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(recs); err != nil {
		return err
	}
	return nil
}

func writeCSVFile(path string, recs [][]string, tail []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = writeCSV(w, recs)
	if err == nil {
		_, err = w.Write(tail)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
