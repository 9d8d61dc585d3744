package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

var (
	_ recommender.XAPIDirectory = (*Store)(nil)
	_ recommender.ClientStore   = (*Store)(nil)
	_ recommender.HiddenStore   = (*Store)(nil)
	_ recommender.ClassLabels   = (*Store)(nil)
)

// extras holds what the contract's second version added: unmapped statements, class
// labels, LRS clients, hidden resources, and the indexes that map xAPI actors and
// activities. Guarded by Store.mu; maps are made on first use.
type extras struct {
	unmapped   map[string]datasets.UnmappedStatement
	classes    map[string]datasets.Class
	clients    map[string]recommender.Client
	hidden     map[string]map[string]recommender.Hidden // class id ("" for all) -> resource id
	byMbox     map[string]idSet                         // mbox SHA-1 -> pupil ids
	byActivity map[string]idSet                         // url or alternative id -> resource ids
}

func (x *extras) init() {
	if x.unmapped != nil {
		return
	}
	x.unmapped = map[string]datasets.UnmappedStatement{}
	x.classes = map[string]datasets.Class{}
	x.clients = map[string]recommender.Client{}
	x.hidden = map[string]map[string]recommender.Hidden{}
	x.byMbox = map[string]idSet{}
	x.byActivity = map[string]idSet{}
}

const fileClasses = "classes.csv"

func sameUnmapped(a, b datasets.UnmappedStatement) bool {
	return a.Actor == b.Actor && a.Reason == b.Reason && a.StudentID == b.StudentID && sameStatement(a.Statement, b.Statement)
}

// checkExtras validates the batch's unmapped statements and class labels.
func (s *Store) checkExtras(b *batch) error {
	s.x.init()
	seen := make(map[string]bool, len(b.Unmapped))
	for i, u := range b.Unmapped {
		line := jsonlLine(len(b.Statements) + i)
		switch {
		case u.ID == "":
			return rowErr(fileUsage, line, "id", "empty id")
		case seen[u.ID]:
			return rowErr(fileUsage, line, "id", "id %q repeated in the batch", u.ID)
		case u.Actor == "":
			return rowErr(fileUsage, line, "actor", "empty")
		case u.Timestamp.IsZero():
			return rowErr(fileUsage, line, "timestamp", "missing")
		}
		seen[u.ID] = true
		if _, ok := b.statements[u.ID]; ok {
			return rowErr(fileUsage, line, "id", "id %q repeated in the batch", u.ID)
		}
		if _, ok := s.statements[u.ID]; ok {
			return conflict(fileUsage, line, "id", "statement %q already stored with other content", u.ID)
		}
		if old, ok := s.x.unmapped[u.ID]; ok && !sameUnmapped(old, u) {
			return conflict(fileUsage, line, "id", "statement %q already stored with other content", u.ID)
		}
	}
	for i, x := range b.Statements {
		if _, ok := s.x.unmapped[x.ID]; ok {
			return conflict(fileUsage, jsonlLine(i), "id", "statement %q already stored with other content", x.ID)
		}
	}
	for i, c := range b.Classes {
		line := csvLine(i)
		switch {
		case c.ID == "":
			return rowErr(fileClasses, line, "class_id", "empty id")
		case c.Label == "":
			return rowErr(fileClasses, line, "label", "empty")
		}
	}
	return nil
}

// applyExtras writes the batch's unmapped statements and class labels, and keeps the
// xAPI indexes in step with the batch's pupils and resources. It runs after apply, under
// the write lock.
func (s *Store) applyExtras(b *batch) {
	s.x.init()
	for _, u := range b.Unmapped {
		u.Ref = nil
		s.x.unmapped[u.ID] = u
	}
	for _, c := range b.Classes {
		s.x.classes[c.ID] = c
	}
	if len(b.Students) > 0 || len(b.Resources) > 0 {
		s.reindexXAPI()
	}
}

// reindexXAPI rebuilds the mailbox and activity indexes: O(pupils + resources), run only
// when a batch changes the roster or the catalogue.
func (s *Store) reindexXAPI() {
	clear(s.x.byMbox)
	for id, st := range s.students {
		for _, h := range datasets.MboxSHA1s(st.Mbox) {
			addTo(s.x.byMbox, h, id)
		}
	}
	clear(s.x.byActivity)
	for id, r := range s.res {
		for _, k := range append([]string{r.URL}, r.AltIDs...) {
			if k != "" {
				addTo(s.x.byActivity, k, id)
			}
		}
	}
}

// StudentsByXAPI implements recommender.XAPIDirectory.
func (s *Store) StudentsByXAPI(ctx context.Context, accountNames, mboxSHA1s []string) ([]datasets.Student, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := idSet{}
	for _, n := range accountNames {
		if _, ok := s.students[n]; ok {
			ids[n] = struct{}{}
		}
	}
	for _, h := range mboxSHA1s {
		for id := range s.x.byMbox[h] {
			ids[id] = struct{}{}
		}
	}
	out := make([]datasets.Student, 0, len(ids))
	for _, id := range sortedKeys(ids) {
		out = append(out, s.students[id])
	}
	return out, nil
}

// ResourcesByXAPI implements recommender.XAPIDirectory.
func (s *Store) ResourcesByXAPI(ctx context.Context, activityIDs []string) ([]datasets.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := idSet{}
	for _, a := range activityIDs {
		if _, ok := s.res[a]; ok {
			ids[a] = struct{}{}
		}
		for id := range s.x.byActivity[a] {
			ids[id] = struct{}{}
		}
	}
	out := make([]datasets.Resource, 0, len(ids))
	for _, id := range sortedKeys(ids) {
		out = append(out, copyResource(s.res[id]))
	}
	return out, nil
}

// StatementsByID implements recommender.XAPIDirectory.
func (s *Store) StatementsByID(ctx context.Context, ids []string) ([]datasets.Statement, []datasets.UnmappedStatement, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var mapped []datasets.Statement
	var unmapped []datasets.UnmappedStatement
	for _, id := range ids {
		if x, ok := s.statements[id]; ok {
			mapped = append(mapped, copyStatement(x))
		} else if u, ok := s.x.unmapped[id]; ok {
			u.Statement = copyStatement(u.Statement)
			unmapped = append(unmapped, u)
		}
	}
	return mapped, unmapped, nil
}

// unmappedOf returns the unmapped statements that name the pupil: attached to them
// (unknown activity) or sent under their account or mailbox.
func (s *Store) unmappedOf(st datasets.Student) []datasets.UnmappedStatement {
	keys := pupilActorKeys(st)
	out := []datasets.UnmappedStatement{}
	for _, u := range s.x.unmapped {
		if u.StudentID == st.ID || keys(u.Actor) {
			u.Statement = copyStatement(u.Statement)
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b datasets.UnmappedStatement) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// pupilActorKeys returns whether an unmapped actor key names the pupil: an account of
// any home page with their id as name, or their mailbox hash.
func pupilActorKeys(st datasets.Student) func(string) bool {
	hashes := datasets.MboxSHA1s(st.Mbox)
	return func(key string) bool {
		if rest, ok := strings.CutPrefix(key, "account:"); ok {
			return strings.HasSuffix(rest, "|"+st.ID)
		}
		if h, ok := strings.CutPrefix(key, "mbox_sha1sum:"); ok {
			return slices.Contains(hashes, h)
		}
		return false
	}
}

// eraseUnmapped removes the pupil's unmapped statements (DeleteStudent).
func (s *Store) eraseUnmapped(st datasets.Student) {
	s.x.init()
	for _, u := range s.unmappedOf(st) {
		delete(s.x.unmapped, u.ID)
	}
	for _, h := range datasets.MboxSHA1s(st.Mbox) {
		removeFrom(s.x.byMbox, h, st.ID)
	}
}

// Classes implements recommender.ClassLabels.
func (s *Store) Classes(ctx context.Context, ids []string) ([]datasets.Class, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []datasets.Class
	for _, id := range ids {
		if c, ok := s.x.classes[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// PutClient implements recommender.ClientStore.
func (s *Store) PutClient(ctx context.Context, c recommender.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.x.init()
	if _, ok := s.x.clients[c.Key]; ok {
		return fmt.Errorf("memstore.PutClient: key %q: %w", c.Key, recommender.ErrConflict)
	}
	s.x.clients[c.Key] = c
	return nil
}

// Client implements recommender.ClientStore.
func (s *Store) Client(ctx context.Context, key string) (recommender.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.x.clients[key]
	if !ok {
		return c, notFound("Client", "client", key)
	}
	return c, nil
}

// SetHidden implements recommender.HiddenStore.
func (s *Store) SetHidden(ctx context.Context, h recommender.Hidden, hidden bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.x.init()
	if _, ok := s.res[h.ResourceID]; !ok {
		return notFound("SetHidden", "resource", h.ResourceID)
	}
	m := s.x.hidden[h.ClassID]
	if !hidden {
		delete(m, h.ResourceID)
		return nil
	}
	if m == nil {
		m = map[string]recommender.Hidden{}
		s.x.hidden[h.ClassID] = m
	}
	m[h.ResourceID] = h
	return nil
}

// HiddenFor implements recommender.HiddenStore.
func (s *Store) HiddenFor(ctx context.Context, classID string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := idSet{}
	for id := range s.x.hidden[""] {
		ids[id] = struct{}{}
	}
	if classID != "" {
		for id := range s.x.hidden[classID] {
			ids[id] = struct{}{}
		}
	}
	return sortedKeys(ids), nil
}
