// Package memstore is the embedded recommender.Store: every entity in memory behind one
// RWMutex, and exact maximum-inner-product search over one contiguous []float32. It is the
// default of `parcours serve` and the reference that approximate stores are measured
// against for recall.
//
// It must never hand out its internal slices or maps (every read returns copies), never
// keep a partial batch (Ingest validates everything before it writes), and never answer a
// search approximately.
package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/vecindex"
)

var _ recommender.Store = (*Store)(nil)

type idSet = map[string]struct{}

// Store is an in-memory recommender.Store. The zero value is not usable: call New.
type Store struct {
	mu sync.RWMutex

	comps    map[string]datasets.Competency
	res      map[string]datasets.Resource
	students map[string]datasets.Student
	// gen is each pupil's generation (recommender.Access), drawn from genSeq, which never
	// goes back: a pupil erased and created again gets a generation never seen before.
	gen    map[string]int64
	genSeq int64
	// tombstones holds the keyed hashes of erased pupils' ids (recommender.Tombstones).
	tombstones map[string]struct{}
	tombKey    []byte
	byClass    map[string]idSet // class id -> pupil ids
	bySchool   map[string]idSet // school id -> pupil ids

	lessons        map[string]datasets.Lesson
	lessonsByClass map[string]idSet
	// timetable is each class's lessons in time order, rebuilt whenever they change, so
	// that PupilEvents neither sorts nor walks a map on the hot path.
	timetable map[string][]datasets.Lesson

	grades       map[string]datasets.Grade
	gradesBy     map[string]idSet // student id -> grade ids
	absences     map[string]datasets.Absence
	absencesBy   map[string]idSet
	statements   map[string]datasets.Statement
	statementsBy map[string]idSet
	voidedBy     map[string]string // voided statement id -> the voiding statement's id
	profiles     map[string]features.Profile
	decisions    map[string][]recommender.Decision // per pupil, oldest first
	served       map[string][]recommender.Served   // per pupil, oldest first
	modelState   []byte
	audit        []recommender.AuditEntry // ascending ID
	lastAuditID  int64
	vec          *vecindex.Index // nil until PutResourceVectors
	on           online
	closed       bool
	now          func() time.Time
	x            extras      // the second version's additions (xapi.go)
	xp           experiments // online experiments (experiments.go)
}

// New returns an empty store.
func New() *Store {
	return &Store{
		comps:          map[string]datasets.Competency{},
		res:            map[string]datasets.Resource{},
		students:       map[string]datasets.Student{},
		gen:            map[string]int64{},
		tombstones:     map[string]struct{}{},
		tombKey:        randomKey(),
		byClass:        map[string]idSet{},
		bySchool:       map[string]idSet{},
		lessons:        map[string]datasets.Lesson{},
		lessonsByClass: map[string]idSet{},
		timetable:      map[string][]datasets.Lesson{},
		grades:         map[string]datasets.Grade{},
		gradesBy:       map[string]idSet{},
		absences:       map[string]datasets.Absence{},
		absencesBy:     map[string]idSet{},
		statements:     map[string]datasets.Statement{},
		statementsBy:   map[string]idSet{},
		voidedBy:       map[string]string{},
		profiles:       map[string]features.Profile{},
		decisions:      map[string][]recommender.Decision{},
		served:         map[string][]recommender.Served{},
		on:             newOnline(),
		now:            func() time.Time { return time.Now().UTC() },
	}
}

func notFound(op, what, id string) error {
	return fmt.Errorf("memstore.%s: %s %q: %w", op, what, id, recommender.ErrNotFound)
}

// Catalogue returns every competency and resource, sorted by id.
func (s *Store) Catalogue(ctx context.Context) ([]datasets.Competency, []datasets.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	comps := make([]datasets.Competency, 0, len(s.comps))
	for _, c := range s.comps {
		comps = append(comps, copyCompetency(c))
	}
	res := make([]datasets.Resource, 0, len(s.res))
	for _, r := range s.res {
		res = append(res, copyResource(r))
	}
	slices.SortFunc(comps, func(a, b datasets.Competency) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(res, func(a, b datasets.Resource) int { return strings.Compare(a.ID, b.ID) })
	return comps, res, nil
}

// Student returns one pupil.
func (s *Store) Student(ctx context.Context, id string) (datasets.Student, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.students[id]
	if !ok {
		return datasets.Student{}, notFound("Student", "student", id)
	}
	return st, nil
}

// Access reads the pupil's class, consent and generation.
func (s *Store) Access(ctx context.Context, id string) (recommender.Access, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.students[id]
	if !ok {
		return recommender.Access{}, notFound("Access", "student", id)
	}
	return recommender.Access{StudentID: id, SchoolID: st.SchoolID, ClassID: st.ClassID, Consent: st.Consent, Generation: s.gen[id]}, nil
}

// bump gives the pupil a new generation. Callers hold s.mu for writing.
func (s *Store) bump(id string) {
	s.genSeq++
	s.gen[id] = s.genSeq
}

// putStudent inserts or replaces a pupil row and keeps the class and school indexes.
func (s *Store) putStudent(st datasets.Student) {
	if old, ok := s.students[st.ID]; ok {
		removeFrom(s.byClass, old.ClassID, st.ID)
		removeFrom(s.bySchool, old.SchoolID, st.ID)
	}
	s.students[st.ID] = st
	s.bump(st.ID)
	addTo(s.byClass, st.ClassID, st.ID)
	addTo(s.bySchool, st.SchoolID, st.ID)
}

func (s *Store) studentsIn(index map[string]idSet, key string) []datasets.Student {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]datasets.Student, 0, len(index[key]))
	for id := range index[key] {
		out = append(out, s.students[id])
	}
	slices.SortFunc(out, func(a, b datasets.Student) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ClassStudents returns the pupils of a class, sorted by id; none for an unknown class.
func (s *Store) ClassStudents(ctx context.Context, classID string) ([]datasets.Student, error) {
	return s.studentsIn(s.byClass, classID), nil
}

// SchoolStudents returns the pupils of a school, sorted by id.
func (s *Store) SchoolStudents(ctx context.Context, schoolID string) ([]datasets.Student, error) {
	return s.studentsIn(s.bySchool, schoolID), nil
}

// StudentIDs lists every pupil id, sorted.
func (s *Store) StudentIDs(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.students))
	for id := range s.students {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// PupilEvents returns the pupil's grades, absences, non-voided statements (voiding ones
// left out too) and their class's lessons, each in time order (ties by id).
func (s *Store) PupilEvents(ctx context.Context, id string) (features.PupilEvents, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.students[id]
	if !ok {
		return features.PupilEvents{}, notFound("PupilEvents", "student", id)
	}
	ev := features.PupilEvents{
		Student:    st,
		Grades:     s.gradesOf(id),
		Absences:   s.absencesOf(id),
		Statements: s.statementsOf(id, false),
		Lessons:    copyLessons(s.timetable[st.ClassID]),
	}
	return ev, nil
}

// rebuildTimetable re-sorts one class's lessons after they changed.
func (s *Store) rebuildTimetable(classID string) {
	ids := s.lessonsByClass[classID]
	if len(ids) == 0 {
		delete(s.timetable, classID)
		delete(s.lessonsByClass, classID)
		return
	}
	tt := make([]datasets.Lesson, 0, len(ids))
	for id := range ids {
		tt = append(tt, s.lessons[id])
	}
	slices.SortFunc(tt, func(a, b datasets.Lesson) int { return byTime(a.Start, b.Start, a.ID, b.ID) })
	s.timetable[classID] = tt
}

func byTime(a, b time.Time, ida, idb string) int {
	if c := a.Compare(b); c != 0 {
		return c
	}
	return strings.Compare(ida, idb)
}

func (s *Store) gradesOf(sid string) []datasets.Grade {
	out := make([]datasets.Grade, 0, len(s.gradesBy[sid]))
	for gid := range s.gradesBy[sid] {
		out = append(out, s.grades[gid])
	}
	slices.SortFunc(out, func(a, b datasets.Grade) int { return byTime(a.Date, b.Date, a.ID, b.ID) })
	detachLists(len(out), func(i int) *[]string { return &out[i].Competencies })
	return out
}

func (s *Store) absencesOf(sid string) []datasets.Absence {
	out := make([]datasets.Absence, 0, len(s.absencesBy[sid]))
	for aid := range s.absencesBy[sid] {
		out = append(out, s.absences[aid])
	}
	slices.SortFunc(out, func(a, b datasets.Absence) int { return byTime(a.Start, b.Start, a.ID, b.ID) })
	return out
}

// statementsOf returns a pupil's statements in time order; without all, the voided and
// the voiding ones are left out.
func (s *Store) statementsOf(sid string, all bool) []datasets.Statement {
	out := make([]datasets.Statement, 0, len(s.statementsBy[sid]))
	for xid := range s.statementsBy[sid] {
		x := s.statements[xid]
		if !all && (x.Verb == datasets.VerbVoided || s.voidedBy[xid] != "") {
			continue
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b datasets.Statement) int { return byTime(a.Timestamp, b.Timestamp, a.ID, b.ID) })
	detachStatements(out)
	return out
}

// SetConsent records whether the pupil (or their parent) agreed to personalisation.
func (s *Store) SetConsent(ctx context.Context, id string, consent bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.students[id]
	if !ok {
		if _, gone := s.tombstones[s.tombHash(id)]; gone {
			return fmt.Errorf("memstore.SetConsent: %w", recommender.ErrTombstoned(recommender.PupilRow{StudentID: id}))
		}
		return notFound("SetConsent", "student", id)
	}
	st.Consent = consent
	s.students[id] = st
	s.bump(id)
	s.on.marks[id] = s.on.next() // the profile must follow, even if a crash comes first
	return nil
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("memstore.Ping: closed: %w", recommender.ErrUnavailable)
	}
	return nil
}

// Close marks the store closed; Ping fails afterwards. The data stay readable so that
// in-flight requests finish.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// EachPupilEvents calls fn with every pupil in id order, batchSize at a time: their
// events when they consent, the Student only otherwise. The read lock is held while a
// batch is copied, not while fn runs.
func (s *Store) EachPupilEvents(ctx context.Context, batchSize int, fn func([]features.PupilEvents) error) error {
	if batchSize < 1 {
		return fmt.Errorf("memstore.EachPupilEvents: batch size %d: %w", batchSize, recommender.ErrInvalid)
	}
	ids, err := s.StudentIDs(ctx)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(ids); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := s.pupilBatch(ids[lo:min(lo+batchSize, len(ids))])
		if len(batch) == 0 {
			continue
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) pupilBatch(ids []string) []features.PupilEvents {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]features.PupilEvents, 0, len(ids))
	tt := map[string][]datasets.Lesson{}
	for _, id := range ids {
		st, ok := s.students[id]
		if !ok {
			continue // erased since the ids were listed
		}
		if !st.Consent {
			out = append(out, features.PupilEvents{Student: st})
			continue
		}
		ls, ok := tt[st.ClassID]
		if !ok {
			ls = copyLessons(s.timetable[st.ClassID])
			tt[st.ClassID] = ls
		}
		out = append(out, features.PupilEvents{Student: st, Grades: s.gradesOf(id), Absences: s.absencesOf(id),
			Statements: s.statementsOf(id, false), Lessons: ls})
	}
	return out
}
