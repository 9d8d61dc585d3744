package recommender

import (
	"context"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// XAPIDirectory finds what xAPI statements name, so that they can be mapped to pupils
// and resources (datasets.MapStatements), and answers a statement by id. Both stores
// implement it.
type XAPIDirectory interface {
	// StudentsByXAPI returns the pupils whose id is one of accountNames or whose
	// mailbox hashes (datasets.MboxSHA1s) meet mboxSHA1s.
	StudentsByXAPI(ctx context.Context, accountNames, mboxSHA1s []string) ([]datasets.Student, error)
	// ResourcesByXAPI returns the resources whose id, url or one of whose alternative
	// ids is one of activityIDs.
	ResourcesByXAPI(ctx context.Context, activityIDs []string) ([]datasets.Resource, error)
	// StatementsByID returns the stored statements among ids, mapped and unmapped.
	StatementsByID(ctx context.Context, ids []string) ([]datasets.Statement, []datasets.UnmappedStatement, error)
}

// XAPILookup is an XAPIDirectory that answers StudentsByXAPI and ResourcesByXAPI of one
// batch together (pgstore: in one round trip, which every POST of statements pays).
type XAPILookup interface {
	LookUpXAPI(ctx context.Context, accountNames, mboxSHA1s, activityIDs []string) ([]datasets.Student, []datasets.Resource, error)
}

// Client is an LRS client allowed to send statements with HTTP Basic credentials: its
// key (the user name) and a password hash of its secret (never the secret itself).
type Client struct {
	Key        string    `json:"key"`
	Name       string    `json:"name"`
	SecretHash string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
}

// ClientStore keeps LRS clients. Both stores implement it.
type ClientStore interface {
	PutClient(ctx context.Context, c Client) error // ErrConflict when the key exists
	Client(ctx context.Context, key string) (Client, error)
}

// Hidden is a resource hidden from recommendations and paths: for one class, or for
// every pupil when ClassID is empty.
type Hidden struct {
	ResourceID string    `json:"resource_id"`
	ClassID    string    `json:"class_id,omitempty"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// HiddenStore keeps hidden resources. Both stores implement it.
type HiddenStore interface {
	// SetHidden hides (or, with hidden false, shows again) a resource; ErrNotFound for
	// an unknown resource.
	SetHidden(ctx context.Context, h Hidden, hidden bool) error
	// HiddenFor returns the ids of the resources hidden for a class's pupils: hidden
	// for that class or for everyone, sorted.
	HiddenFor(ctx context.Context, classID string) ([]string, error)
}

// ClassLabels returns the labels of classes (classes.csv). Both stores implement it.
type ClassLabels interface {
	Classes(ctx context.Context, ids []string) ([]datasets.Class, error)
}

// LookUpXAPI asks dir about every pupil, resource and voided statement the statements
// name, in at most three queries, and returns them as the Directory that
// datasets.MapStatements maps with. The API and the folder ingest share it, so a
// statement maps the same way whichever door it came in by.
func LookUpXAPI(ctx context.Context, dir XAPIDirectory, sts []datasets.Statement) (*datasets.Directory, error) {
	var names, hashes, activities, targets []string
	for _, st := range sts {
		if st.Ref == nil {
			continue
		}
		if st.Ref.AccountName != "" {
			names = append(names, st.Ref.AccountName)
		}
		hashes = append(hashes, st.Ref.MboxSHA1...)
		if st.Verb == datasets.VerbVoided {
			targets = append(targets, st.ObjectID)
		} else if st.Ref.ObjectType == "Activity" {
			activities = append(activities, st.Ref.Activities...)
		}
	}
	d := datasets.NewDirectory()
	var (
		pupils []datasets.Student
		res    []datasets.Resource
		err    error
	)
	if l, ok := dir.(XAPILookup); ok {
		pupils, res, err = l.LookUpXAPI(ctx, names, hashes, activities)
	} else {
		pupils, err = dir.StudentsByXAPI(ctx, names, hashes)
		if err == nil {
			res, err = dir.ResourcesByXAPI(ctx, activities)
		}
	}
	if err != nil {
		return nil, err
	}
	d.AddStudents(pupils...)
	d.AddResources(res...)
	if len(targets) > 0 {
		mapped, _, err := dir.StatementsByID(ctx, targets)
		if err != nil {
			return nil, err
		}
		for _, m := range mapped {
			d.AddStatements(m.ID)
		}
	}
	return d, nil
}
