package teacher

import (
	"context"

	"github.com/parcours-ent/parcours/datasets"
)

// Roster gives the optional display names of pupils and labels of classes (the
// roster's display_name and classes.csv). memstore and pgstore implement it. Names are
// personal data: the page reads a pupil's name only after the API has let the teacher
// read that pupil (the path or the class overview answered), shows it, and never logs it.
type Roster interface {
	Student(ctx context.Context, id string) (datasets.Student, error)
	ClassStudents(ctx context.Context, classID string) ([]datasets.Student, error)
	Classes(ctx context.Context, ids []string) ([]datasets.Class, error)
}

// subjectLabels are the French names of the subject codes the académie uses; the
// catalogue has no subject labels of its own, and an unknown code shows as it is.
var subjectLabels = map[string]string{
	"MATHS":     "Mathématiques",
	"FRANCAIS":  "Français",
	"HIST-GEO":  "Histoire-géographie",
	"SVT":       "Sciences de la vie et de la Terre",
	"PHYS-CHIM": "Physique-chimie",
	"ANGLAIS":   "Anglais",
	"ALLEMAND":  "Allemand",
	"ESPAGNOL":  "Espagnol",
	"TECHNO":    "Technologie",
	"EPS":       "Éducation physique et sportive",
	"SES":       "Sciences économiques et sociales",
	"PHILO":     "Philosophie",
}

func subjectLabel(code string) string {
	if l, ok := subjectLabels[code]; ok {
		return l
	}
	return code
}

// classLabels returns the labels of ids the roster knows (nil without a roster).
func (a *App) classLabels(ctx context.Context, ids []string) map[string]string {
	if a.cfg.Roster == nil || len(ids) == 0 {
		return nil
	}
	cs, err := a.cfg.Roster.Classes(ctx, ids)
	if err != nil {
		a.cfg.Logger.Warn("teacher page: class labels", "error", err.Error())
		return nil
	}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.ID] = c.Label
	}
	return out
}

// classLabel is the class's label, or "Classe <id>" without one.
func (a *App) classLabel(ctx context.Context, id string) string {
	if l := a.classLabels(ctx, []string{id})[id]; l != "" {
		return l
	}
	return "Classe " + id
}

// pupilNames returns the display names of a class's pupils; call it only once the API
// has answered the class's overview to this teacher.
func (a *App) pupilNames(ctx context.Context, classID string) map[string]string {
	if a.cfg.Roster == nil {
		return nil
	}
	sts, err := a.cfg.Roster.ClassStudents(ctx, classID)
	if err != nil {
		a.cfg.Logger.Warn("teacher page: pupil names", "error", err.Error())
		return nil
	}
	out := make(map[string]string, len(sts))
	for _, s := range sts {
		if s.DisplayName != "" {
			out[s.ID] = s.DisplayName
		}
	}
	return out
}

// pupilName is one pupil's display name ("" when none); call it only once the API has
// answered a read of this pupil to this teacher.
func (a *App) pupilName(ctx context.Context, id string) string {
	if a.cfg.Roster == nil {
		return ""
	}
	s, err := a.cfg.Roster.Student(ctx, id)
	if err != nil {
		return ""
	}
	return s.DisplayName
}
