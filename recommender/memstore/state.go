package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// Profile returns the stored profile of a pupil, with its vector.
func (s *Store) Profile(ctx context.Context, id string) (features.Profile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.profiles[id]
	if !ok {
		return features.Profile{}, notFound("Profile", "profile of", id)
	}
	return copyProfile(p), nil
}

// Profiles returns the stored profiles of ids that have one, in ids order.
func (s *Store) Profiles(ctx context.Context, ids []string) ([]features.Profile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]features.Profile, 0, len(ids))
	for _, id := range ids {
		if p, ok := s.profiles[id]; ok {
			out = append(out, copyProfile(p))
		}
	}
	return out, nil
}

// PutProfiles stores profiles, all or none: every one must name a known pupil.
func (s *Store) PutProfiles(ctx context.Context, ps []features.Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		if _, ok := s.students[p.StudentID]; !ok {
			return notFound("PutProfiles", "student", p.StudentID)
		}
	}
	for _, p := range ps {
		s.writeProfile(p)
	}
	return nil
}

// ModelState returns the stored model state; ErrNotFound before the first PutModelState.
func (s *Store) ModelState(ctx context.Context) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.modelState == nil {
		return nil, fmt.Errorf("memstore.ModelState: %w", recommender.ErrNotFound)
	}
	return slices.Clone(s.modelState), nil
}

// PutModelState replaces the model state.
func (s *Store) PutModelState(ctx context.Context, state []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modelState = append([]byte{}, state...) // non-nil even when empty: "stored"
	return nil
}

// Decisions returns a pupil's decisions, oldest first (ties in the order they came).
func (s *Store) Decisions(ctx context.Context, studentID string) ([]recommender.Decision, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]recommender.Decision{}, s.decisions[studentID]...), nil
}

// AddDecision records a teacher's decision; At defaults to now.
func (s *Store) AddDecision(ctx context.Context, d recommender.Decision) error {
	if !recommender.ValidDecision(d.Decision) {
		return fmt.Errorf("memstore.AddDecision: decision %q: %w", d.Decision, recommender.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.students[d.StudentID]; !ok {
		return notFound("AddDecision", "student", d.StudentID)
	}
	if _, ok := s.res[d.ResourceID]; !ok {
		return fmt.Errorf("memstore.AddDecision: unknown resource %q: %w", d.ResourceID, recommender.ErrInvalid)
	}
	if d.At.IsZero() {
		d.At = s.now()
	}
	list := s.decisions[d.StudentID]
	// Insert after every decision not later than d: oldest first, stable.
	i := len(list)
	for i > 0 && list[i-1].At.After(d.At) {
		i--
	}
	s.decisions[d.StudentID] = slices.Insert(list, i, d)
	s.bump(d.StudentID)
	return nil
}

// inSchool reports whether pupil id belongs to schoolID (any school when empty).
func (s *Store) inSchool(id, schoolID string) bool {
	st, ok := s.students[id]
	return ok && (schoolID == "" || st.SchoolID == schoolID)
}

// DecisionCounts counts decisions by value over a school's pupils (all when empty).
func (s *Store) DecisionCounts(ctx context.Context, schoolID string) (map[string]int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	for id, ds := range s.decisions {
		if !s.inSchool(id, schoolID) {
			continue
		}
		for _, d := range ds {
			out[d.Decision]++
		}
	}
	return out, nil
}

// LogServed records the resources recommended to a pupil; at defaults to now.
func (s *Store) LogServed(ctx context.Context, studentID string, resourceIDs []string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.students[studentID]; !ok {
		return notFound("LogServed", "student", studentID)
	}
	if at.IsZero() {
		at = s.now()
	}
	list := s.served[studentID]
	for _, r := range resourceIDs {
		i := len(list)
		for i > 0 && list[i-1].At.After(at) {
			i--
		}
		list = slices.Insert(list, i, recommender.Served{ResourceID: r, At: at})
	}
	s.served[studentID] = list
	return nil
}

// Uptake counts the distinct (pupil, resource) pairs served over a school's pupils, how
// many the pupil then used (a non-voided statement on it within window after one of the
// times it was served), and the pupils served.
func (s *Store) Uptake(ctx context.Context, schoolID string, window time.Duration) (recommender.UptakeAggregate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var agg recommender.UptakeAggregate
	for id, served := range s.served {
		if len(served) == 0 || !s.inSchool(id, schoolID) {
			continue
		}
		agg.Pupils++
		used := map[string]bool{}
		for _, sv := range served {
			if _, seen := used[sv.ResourceID]; !seen {
				used[sv.ResourceID] = false
			}
		}
		for _, x := range s.statementsOf(id, false) {
			if _, ok := used[x.ObjectID]; !ok || used[x.ObjectID] {
				continue
			}
			for _, sv := range served {
				if sv.ResourceID == x.ObjectID && !x.Timestamp.Before(sv.At) && !x.Timestamp.After(sv.At.Add(window)) {
					used[x.ObjectID] = true
					break
				}
			}
		}
		agg.Recommended += len(used)
		for _, u := range used {
			if u {
				agg.Used++
			}
		}
	}
	if agg.Recommended > 0 {
		agg.Rate = float64(agg.Used) / float64(agg.Recommended)
	}
	return agg, nil
}

// AppendAudit appends an entry with the next ID; At defaults to now. In memory, durable
// means: visible to every later read.
func (s *Store) AppendAudit(ctx context.Context, e recommender.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAuditID++
	e.ID = s.lastAuditID
	if e.At.IsZero() {
		e.At = s.now()
	}
	s.audit = append(s.audit, e)
	return nil
}

// AppendAudits appends entries under one lock, with increasing IDs in slice order, so that
// no other entry lands between them; a zero At is stamped now. It cannot fail part-way.
func (s *Store) AppendAudits(ctx context.Context, es []recommender.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, e := range es {
		s.lastAuditID++
		e.ID = s.lastAuditID
		if e.At.IsZero() {
			e.At = now
		}
		s.audit = append(s.audit, e)
	}
	return nil
}

// Audit returns the matching entries in ID order; Limit keeps the first Limit of them.
func (s *Store) Audit(ctx context.Context, q recommender.AuditQuery) ([]recommender.AuditEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []recommender.AuditEntry{}
	for _, e := range s.audit {
		if (q.StudentID != "" && e.StudentID != q.StudentID) || e.At.Before(q.Since) {
			continue
		}
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// Export returns everything held about a pupil, voided and voiding statements included.
func (s *Store) Export(ctx context.Context, id string) (recommender.Export, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.students[id]
	if !ok {
		return recommender.Export{}, notFound("Export", "student", id)
	}
	ex := recommender.Export{
		Student:    st,
		Grades:     s.gradesOf(id),
		Absences:   s.absencesOf(id),
		Statements: s.statementsOf(id, true),
		Decisions:  append([]recommender.Decision{}, s.decisions[id]...),
		Served:     append([]recommender.Served{}, s.served[id]...),
		Unmapped:   s.unmappedOf(st),
	}
	if p, ok := s.profiles[id]; ok {
		cp := copyProfile(p)
		ex.Profile = &cp
		ex.Vector = slices.Clone(p.Vector)
	}
	return ex, nil
}

// DeleteStudent erases every trace of a pupil but the audit entries: the student row,
// grades, absences, statements (and other pupils' statements voiding them), profile and
// vector, decisions and served log.
func (s *Store) DeleteStudent(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.students[id]; !ok {
		return notFound("DeleteStudent", "student", id)
	}
	for gid := range s.gradesBy[id] {
		delete(s.grades, gid)
	}
	for aid := range s.absencesBy[id] {
		delete(s.absences, aid)
	}
	for xid := range s.statementsBy[id] {
		if v := s.voidedBy[xid]; v != "" {
			s.removeStatement(v)
		}
		s.removeStatement(xid)
	}
	delete(s.gradesBy, id)
	delete(s.absencesBy, id)
	delete(s.statementsBy, id)
	st := s.students[id]
	s.eraseUnmapped(st)
	removeFrom(s.byClass, st.ClassID, id)
	removeFrom(s.bySchool, st.SchoolID, id)
	delete(s.students, id)
	delete(s.gen, id)
	s.xp.erase(id)
	s.tombstones[s.tombHash(id)] = struct{}{}
	delete(s.profiles, id)
	delete(s.on.profileGen, id)
	delete(s.on.marks, id)
	delete(s.decisions, id)
	delete(s.served, id)
	return nil
}

// removeStatement deletes one statement and its voiding links; it reports whether the
// statement was there.
func (s *Store) removeStatement(xid string) bool {
	x, ok := s.statements[xid]
	if !ok {
		return false
	}
	delete(s.statements, xid)
	delete(s.statementsBy[x.StudentID], xid)
	delete(s.voidedBy, xid)
	if x.Verb == datasets.VerbVoided && s.voidedBy[x.ObjectID] == xid {
		delete(s.voidedBy, x.ObjectID)
	}
	return true
}

// Purge removes audit entries older than auditBefore and school events older than
// dataBefore: grades by date, statements by timestamp, absences and lessons that ended
// before it, and the served log. A statement whose voiding statement is purged goes with
// it, so that purging never brings a withdrawn statement back.
func (s *Store) Purge(ctx context.Context, auditBefore, dataBefore time.Time) (recommender.PurgeCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.xp.purge(dataBefore)
	var n recommender.PurgeCounts
	kept := s.audit[:0]
	for _, e := range s.audit {
		if e.At.Before(auditBefore) {
			n.Audit++
			continue
		}
		kept = append(kept, e)
	}
	clear(s.audit[len(kept):])
	s.audit = kept
	for id, g := range s.grades {
		if g.Date.Before(dataBefore) {
			delete(s.grades, id)
			delete(s.gradesBy[g.StudentID], id)
			n.Grades++
		}
	}
	for id, a := range s.absences {
		if a.End.Before(dataBefore) {
			delete(s.absences, id)
			delete(s.absencesBy[a.StudentID], id)
			n.Absences++
		}
	}
	purgedClasses := idSet{}
	for id, l := range s.lessons {
		if l.End.Before(dataBefore) {
			delete(s.lessons, id)
			delete(s.lessonsByClass[l.ClassID], id)
			purgedClasses[l.ClassID] = struct{}{}
			n.Lessons++
		}
	}
	for c := range purgedClasses {
		s.rebuildTimetable(c)
	}
	var old []string
	for id, x := range s.statements {
		if x.Timestamp.Before(dataBefore) {
			old = append(old, id)
		}
	}
	for _, id := range old {
		x, ok := s.statements[id]
		if !ok {
			continue
		}
		if x.Verb == datasets.VerbVoided && s.voidedBy[x.ObjectID] == id && s.removeStatement(x.ObjectID) {
			n.Statements++
		}
		if s.removeStatement(id) {
			n.Statements++
		}
	}
	for id, u := range s.x.unmapped {
		if u.Timestamp.Before(dataBefore) {
			delete(s.x.unmapped, id)
			n.Statements++
		}
	}
	for id, list := range s.served {
		kept := slices.DeleteFunc(list, func(sv recommender.Served) bool { return sv.At.Before(dataBefore) })
		if len(kept) == 0 {
			delete(s.served, id)
		} else {
			s.served[id] = kept
		}
	}
	return n, nil
}
