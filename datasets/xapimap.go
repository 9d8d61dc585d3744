package datasets

// UnmappedStatement is a valid xAPI statement that Parcours cannot attach to a pupil
// and a resource: its actor is no known pupil, its activity no known resource, or it
// voids a statement that is not stored. It is kept (an LRS does not refuse valid
// statements, and GET /xapi/statements answers it) but never feeds the features. Its
// actor is kept only as a key (Actor): a mailbox is kept as its SHA-1, never in clear.
type UnmappedStatement struct {
	Statement
	// Actor is the key of the actor as sent (see XAPIRef.Actor).
	Actor string `json:"actor"`
	// Reason is UnmappedActor, UnmappedActivity or UnmappedTarget.
	Reason string `json:"reason"`
}

// Reasons a statement is unmapped.
const (
	UnmappedActor    = "unknown_actor"
	UnmappedActivity = "unknown_activity"
	UnmappedTarget   = "unknown_statement"
)

// Directory is what MapStatements looks actors and activities up in: pupils by id and
// mailbox hash, resources by id, URL and alternative ids, and the statements that
// voiding statements may name. A key that names two pupils or two resources maps to
// neither: a statement is never attached to the wrong pupil.
type Directory struct {
	pupils     map[string]bool
	mboxes     map[string]string // mbox SHA-1 -> pupil id; "" when ambiguous
	activities map[string]string // id, URL or alternative id -> resource id; "" when ambiguous
	statements map[string]bool
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory {
	return &Directory{pupils: map[string]bool{}, mboxes: map[string]string{}, activities: map[string]string{}, statements: map[string]bool{}}
}

func claim(m map[string]string, key, id string) {
	if old, ok := m[key]; ok && old != id {
		m[key] = ""
		return
	}
	m[key] = id
}

// AddStudents makes the pupils known, by id and by mailbox.
func (d *Directory) AddStudents(xs ...Student) {
	for _, s := range xs {
		d.pupils[s.ID] = true
		for _, h := range MboxSHA1s(s.Mbox) {
			claim(d.mboxes, h, s.ID)
		}
	}
}

// AddResources makes the resources known by id, URL and alternative ids. A resource's
// own id always wins over another resource's URL or alternative id.
func (d *Directory) AddResources(xs ...Resource) {
	for _, r := range xs {
		d.activities[r.ID] = r.ID
	}
	for _, r := range xs {
		for _, k := range append([]string{r.URL}, r.AltIDs...) {
			if k == "" || d.activities[k] == k {
				continue
			}
			claim(d.activities, k, r.ID)
		}
	}
}

// AddStatements makes statement ids known as voidable.
func (d *Directory) AddStatements(ids ...string) {
	for _, id := range ids {
		d.statements[id] = true
	}
}

// Pupil returns the pupil a statement's actor names.
func (d *Directory) Pupil(ref *XAPIRef) (string, bool) {
	if ref.AccountName != "" && d.pupils[ref.AccountName] {
		return ref.AccountName, true
	}
	for _, h := range ref.MboxSHA1 {
		if id := d.mboxes[h]; id != "" {
			return id, true
		}
	}
	return "", false
}

// Resource returns the resource a statement's activity names.
func (d *Directory) Resource(ref *XAPIRef) (string, bool) {
	if ref.ObjectType != "Activity" {
		return "", false
	}
	for _, a := range ref.Activities {
		if id := d.activities[a]; id != "" {
			return id, true
		}
	}
	return "", false
}

// MapStatements attaches each statement of d.Statements read from xAPI (with a Ref) to
// a pupil and a resource of dir, rewriting StudentID and ObjectID to their ids, and
// moves the statements it cannot attach to d.Unmapped; Ref is dropped once used. A voiding statement needs a
// known pupil and a mapped statement to void (in dir or in the batch). Statements
// built in Go (no Ref) are left as they are.
func MapStatements(d *Dataset, dir *Directory) {
	// First the statements that are not voiding, so that a voiding statement may name
	// one later in the batch; then every statement in its original order.
	type outcome struct {
		pupil, res, reason string
	}
	out := make([]outcome, len(d.Statements))
	for i, st := range d.Statements {
		switch {
		case st.Ref == nil:
			dir.AddStatements(st.ID)
		case st.Verb != VerbVoided:
			pupil, okP := dir.Pupil(st.Ref)
			res, okR := dir.Resource(st.Ref)
			switch {
			case !okP:
				out[i].reason = UnmappedActor
			case !okR:
				out[i] = outcome{pupil: pupil, reason: UnmappedActivity}
			default:
				out[i] = outcome{pupil: pupil, res: res}
				dir.AddStatements(st.ID)
			}
		}
	}
	for i, st := range d.Statements {
		if st.Ref == nil || st.Verb != VerbVoided {
			continue
		}
		pupil, ok := dir.Pupil(st.Ref)
		switch {
		case !ok:
			out[i].reason = UnmappedActor
		case !dir.statements[st.ObjectID]:
			out[i] = outcome{pupil: pupil, reason: UnmappedTarget}
		default:
			out[i] = outcome{pupil: pupil, res: st.ObjectID}
		}
	}
	kept := d.Statements[:0]
	for i, st := range d.Statements {
		o := out[i]
		switch {
		case st.Ref == nil:
			kept = append(kept, st)
		case o.reason != "":
			d.Unmapped = append(d.Unmapped, unmapped(st, o.pupil, o.reason))
		default:
			st.StudentID, st.ObjectID, st.Ref = o.pupil, o.res, nil
			kept = append(kept, st)
		}
	}
	d.Statements = kept
}

func unmapped(st Statement, pupil, reason string) UnmappedStatement {
	actor := st.Ref.Actor
	st.StudentID, st.Ref = pupil, nil
	return UnmappedStatement{Statement: st, Actor: actor, Reason: reason}
}
