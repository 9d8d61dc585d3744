package storetest

import (
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// The contract's second version: names and mailboxes, launch URLs and alternative ids,
// unmapped statements, class labels, LRS clients and hidden resources. Every store that
// implements recommender.XAPIDirectory, ClientStore, HiddenStore and ClassLabels passes
// these.

const h5pURL = "https://h5p.example.org/wp-admin/admin-ajax.php?action=h5p_embed&id=34806"

// namedFixture is the fixture with S1's mailbox and name, R02's URL and R03's
// alternative ids, and one class label.
func namedFixture() *datasets.Dataset {
	f := Fixture()
	f.Students[0].DisplayName, f.Students[0].Mbox = "Anne Élève", "mailto:Anne.Eleve@example.fr"
	f.Resources[1].URL = "https://moodle.example.org/mod/quiz/view.php?id=12"
	f.Resources[2].AltIDs = []string{h5pURL, "moodle-cm-13"}
	f.Classes = []datasets.Class{{ID: Class6A, SchoolID: SchoolA, Label: "6e A"}}
	return f
}

func unmappedStmt(n int, sid, actor, reason string) datasets.UnmappedStatement {
	return datasets.UnmappedStatement{
		Statement: datasets.Statement{ID: StatementID(n), StudentID: sid, Verb: datasets.VerbAnswered,
			ObjectID: "https://elsewhere.example.org/activity/1", Timestamp: day(6, 10), Scaled: fptr(0.5)},
		Actor: actor, Reason: reason,
	}
}

func (s suite) xapiAdditions(t *testing.T) {
	open := func(t *testing.T) recommender.Store {
		st := s.open(t)
		mustIngest(t, st, namedFixture())
		return st
	}
	dirOf := func(t *testing.T, st recommender.Store) recommender.XAPIDirectory {
		d, ok := st.(recommender.XAPIDirectory)
		if !ok {
			t.Fatalf("%T does not implement recommender.XAPIDirectory", st)
		}
		return d
	}
	t.Run("NamesAndURLsReadBack", func(t *testing.T) {
		st := open(t)
		p, err := st.Student(ctx(), "S1")
		if err != nil {
			t.Fatal(err)
		}
		if p.DisplayName != "Anne Élève" || p.Mbox != "mailto:Anne.Eleve@example.fr" {
			t.Fatalf("student %+v lost its name or mailbox", p)
		}
		_, res, err := st.Catalogue(ctx())
		if err != nil {
			t.Fatal(err)
		}
		same(t, "resources", res, namedFixture().Resources)
		labels := st.(recommender.ClassLabels)
		cs, err := labels.Classes(ctx(), []string{Class6A, Class5B})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "classes", cs, namedFixture().Classes)
	})
	t.Run("FindsPupilsByAccountAndMailboxHash", func(t *testing.T) {
		st := open(t)
		hash := datasets.SHA1Hex("mailto:anne.eleve@example.fr") // lower-cased, as a client may send it
		got, err := dirOf(t, st).StudentsByXAPI(ctx(), []string{"S2", "nobody"}, []string{hash})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "S1" || got[1].ID != "S2" {
			t.Fatalf("got %+v, want S1 (by mailbox) and S2 (by account)", got)
		}
	})
	t.Run("FindsResourcesByIDURLAndAlternativeID", func(t *testing.T) {
		st := open(t)
		got, err := dirOf(t, st).ResourcesByXAPI(ctx(), []string{"R05", "https://moodle.example.org/mod/quiz/view.php?id=12", h5pURL, "nothing"})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		same(t, "resources", ids, []string{"R02", "R03", "R05"})
	})
	t.Run("KeepsUnmappedStatementsIdempotentlyAndRefusesOtherContent", func(t *testing.T) {
		st := open(t)
		u1 := unmappedStmt(50, "", "mbox_sha1sum:"+datasets.SHA1Hex("mailto:x@example.fr"), datasets.UnmappedActor)
		u2 := unmappedStmt(51, "S1", "account:https://ent.example.fr|S1", datasets.UnmappedActivity)
		ch := mustIngest(t, st, &datasets.Dataset{Unmapped: []datasets.UnmappedStatement{u1, u2}})
		if len(ch.Students) != 0 {
			t.Fatalf("unmapped statements changed pupils %v: they never feed the features", ch.Students)
		}
		mustIngest(t, st, &datasets.Dataset{Unmapped: []datasets.UnmappedStatement{u1}})
		mapped, unmapped, err := dirOf(t, st).StatementsByID(ctx(), []string{StatementID(1), u1.ID, u2.ID, StatementID(77)})
		if err != nil {
			t.Fatal(err)
		}
		if len(mapped) != 1 || mapped[0].ID != StatementID(1) || len(unmapped) != 2 {
			t.Fatalf("got %d mapped, %d unmapped; want 1 and 2", len(mapped), len(unmapped))
		}
		same(t, "unmapped", unmapped, []datasets.UnmappedStatement{u1, u2})
		other := u1
		other.Scaled = fptr(0.9)
		_, err = st.Ingest(ctx(), &datasets.Dataset{Unmapped: []datasets.UnmappedStatement{other}})
		wantIs(t, err, recommender.ErrConflict)
		clash := unmappedStmt(1, "", "group", datasets.UnmappedActor) // the id of a mapped statement
		_, err = st.Ingest(ctx(), &datasets.Dataset{Unmapped: []datasets.UnmappedStatement{clash}})
		wantIs(t, err, recommender.ErrConflict)
	})
	t.Run("ExportAndErasureCoverUnmappedStatementsAndNames", func(t *testing.T) {
		st := open(t)
		mine := unmappedStmt(60, "", "mbox_sha1sum:"+datasets.SHA1Hex("mailto:Anne.Eleve@example.fr"), datasets.UnmappedActor)
		also := unmappedStmt(61, "S1", "account:https://ent.example.fr|S1", datasets.UnmappedActivity)
		theirs := unmappedStmt(62, "", "account:https://moodle.example.org|S10", datasets.UnmappedActor)
		mustIngest(t, st, &datasets.Dataset{Unmapped: []datasets.UnmappedStatement{mine, also, theirs}})
		ex, err := st.Export(ctx(), "S1")
		if err != nil {
			t.Fatal(err)
		}
		if ex.Student.DisplayName != "Anne Élève" || len(ex.Unmapped) != 2 {
			t.Fatalf("export has name %q and %d unmapped statements; want the name and 2", ex.Student.DisplayName, len(ex.Unmapped))
		}
		if err := st.DeleteStudent(ctx(), "S1"); err != nil {
			t.Fatal(err)
		}
		_, left, err := dirOf(t, st).StatementsByID(ctx(), []string{mine.ID, also.ID, theirs.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 1 || left[0].ID != theirs.ID {
			t.Fatalf("after erasure %d unmapped statements left, want only the other pupil's", len(left))
		}
		got, err := dirOf(t, st).StudentsByXAPI(ctx(), nil, []string{datasets.SHA1Hex("mailto:Anne.Eleve@example.fr")})
		if err != nil || len(got) != 0 {
			t.Fatalf("the erased pupil is still found by mailbox: %v %v", got, err)
		}
	})
	t.Run("ClientsStoreHashesAndRefuseDuplicateKeys", func(t *testing.T) {
		st := s.open(t)
		cs, ok := st.(recommender.ClientStore)
		if !ok {
			t.Fatalf("%T does not implement recommender.ClientStore", st)
		}
		c := recommender.Client{Key: "lrs-1", Name: "moodle", SecretHash: "$argon2id$x", CreatedAt: Base}
		if err := cs.PutClient(ctx(), c); err != nil {
			t.Fatal(err)
		}
		wantIs(t, cs.PutClient(ctx(), c), recommender.ErrConflict)
		got, err := cs.Client(ctx(), "lrs-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "client", got, c)
		_, err = cs.Client(ctx(), "lrs-2")
		wantIs(t, err, recommender.ErrNotFound)
	})
	t.Run("HiddenResourcesPerClassAndForAll", func(t *testing.T) {
		st := open(t)
		hs, ok := st.(recommender.HiddenStore)
		if !ok {
			t.Fatalf("%T does not implement recommender.HiddenStore", st)
		}
		at := Base.Add(time.Hour)
		for _, h := range []recommender.Hidden{{ResourceID: "R01", ClassID: Class6A, By: "prof", At: at}, {ResourceID: "R02", By: "admin", At: at}} {
			if err := hs.SetHidden(ctx(), h, true); err != nil {
				t.Fatal(err)
			}
		}
		wantIs(t, hs.SetHidden(ctx(), recommender.Hidden{ResourceID: "R99", By: "admin", At: at}, true), recommender.ErrNotFound)
		for _, tc := range []struct {
			class string
			want  []string
		}{{Class6A, []string{"R01", "R02"}}, {Class5B, []string{"R02"}}, {"", []string{"R02"}}} {
			got, err := hs.HiddenFor(ctx(), tc.class)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "hidden for "+tc.class, got, tc.want)
		}
		if err := hs.SetHidden(ctx(), recommender.Hidden{ResourceID: "R01", ClassID: Class6A}, false); err != nil {
			t.Fatal(err)
		}
		got, _ := hs.HiddenFor(ctx(), Class6A)
		same(t, "hidden after showing again", got, []string{"R02"})
	})
}
