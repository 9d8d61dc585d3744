package recommender

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// Reason codes. Each is given only when the data behind its sentence exists.
const (
	ReasonTeacherPin     = "teacher_pin"
	ReasonTeacherApprove = "teacher_approved"
	ReasonWeakCompetency = "weak_competency"
	ReasonMissedLesson   = "missed_lesson"
	ReasonRightDiff      = "right_difficulty"
	ReasonUnblocks       = "unblocks"
	ReasonSimilarPupils  = "similar_pupils"
	ReasonPopularLevel   = "popular_in_level"
	ReasonRightLevel     = "right_level"
	ReasonChapter        = "current_chapter"
	ReasonNextChapter    = "next_chapter"
	ReasonUsedTogether   = "used_together"
	ReasonNeighbours     = "similar_profiles"
)

// minLift is the least a collaborative feature must multiply the odds of uptake by for
// its reason to be given: below it, the item was not chosen because of it.
var minLift = math.Log(1.25)

// minSimilar is the fewest pupils behind a similar_pupils reason: fewer would say too
// much about too few.
const minSimilar = 3

// explain builds the reasons of a ranked item from its evidence, strongest first.
func (e *Engine) explain(s *snapshot, p *pupil, c scored, lang string) []Reason {
	en := isEN(lang)
	var out []Reason
	add := func(code, fr, eng string) {
		msg := fr
		if en {
			msg = eng
		}
		out = append(out, Reason{Code: code, Message: msg})
	}
	label := compLabel(s.cat, c.comp)
	if c.pinned {
		add(ReasonTeacherPin, "Épinglée par l'enseignant.", "Pinned by the teacher.")
	} else if c.approved {
		add(ReasonTeacherApprove, "Approuvée par l'enseignant.", "Approved by the teacher.")
	}
	if c.missed != nil {
		d := c.missed.Start.In(e.cfg.Location)
		add(ReasonMissedLesson,
			fmt.Sprintf("Rattrapage : leçon du %s manquée (%s).", dateFR(d), label),
			fmt.Sprintf("Catch-up: missed the lesson of %s (%s).", d.Format("2 January"), label))
	}
	if cs, ok := p.prof.Competencies[c.comp]; ok && c.comp != "" {
		switch {
		case cs.GradeN > 0 && cs.GradeMean < 0.5:
			add(ReasonWeakCompetency,
				fmt.Sprintf("Compétence à renforcer : %s (moyenne %s/20 sur %s).", label, numFR(cs.GradeMean*20), plural(cs.GradeN, "évaluation", "évaluations")),
				fmt.Sprintf("Skill to strengthen: %s (average %s/20 over %s).", label, numEN(cs.GradeMean*20), plural(cs.GradeN, "assessment", "assessments")))
		case cs.N > 0 && cs.Need >= e.cfg.NeedThreshold && cs.PMastery < e.cfg.MasteryThreshold:
			add(ReasonWeakCompetency,
				fmt.Sprintf("Compétence à renforcer : %s (maîtrise estimée %s d'après %s).", label, pctFR(cs.PMastery), plural(cs.N, "activité", "activités")),
				fmt.Sprintf("Skill to strengthen: %s (estimated mastery %s from %s).", label, pctEN(cs.PMastery), plural(cs.N, "activity", "activities")))
		}
	}
	if c.unblocks != "" {
		dl := compLabel(s.cat, c.unblocks)
		add(ReasonUnblocks,
			fmt.Sprintf("Prérequis de « %s » : la travailler débloque la suite.", dl),
			fmt.Sprintf("Prerequisite of \"%s\": working on it unblocks what comes next.", dl))
	}
	chapter := compLabel(s.cat, c.posComp)
	switch c.pos {
	case sylCurrent:
		add(ReasonChapter,
			fmt.Sprintf("Chapitre en cours en classe : %s.", chapter),
			fmt.Sprintf("The chapter under way in class: %s.", chapter))
	case sylNext:
		add(ReasonNextChapter,
			fmt.Sprintf("Prochain chapitre attendu en classe : %s.", chapter),
			fmt.Sprintf("The chapter expected next in class: %s.", chapter))
	}
	if c.coLift >= minLift {
		add(ReasonUsedTogether,
			"Souvent utilisée par les élèves qui ont travaillé les mêmes ressources.",
			"Often used by pupils who worked on the same resources.")
	}
	if c.neighLift >= minLift {
		add(ReasonNeighbours,
			"Souvent utilisée par des élèves au profil proche.",
			"Often used by pupils with a similar profile.")
	}
	if c.fit >= 0.5 {
		add(ReasonRightDiff,
			fmt.Sprintf("Bon niveau de difficulté : réussite prévue %s.", pctFR(c.p)),
			fmt.Sprintf("Right difficulty: predicted success %s.", pctEN(c.p)))
	}
	rid := s.cat.Resources[c.idx].ID
	if pr := s.agg.Progress[rid]; pr.Progressed >= minSimilar && 2*pr.Progressed >= pr.Weak && c.need >= e.cfg.NeedThreshold {
		add(ReasonSimilarPupils,
			fmt.Sprintf("%d élèves qui avaient les mêmes difficultés ont progressé après l'avoir utilisée.", pr.Progressed),
			fmt.Sprintf("%d pupils with the same difficulties progressed after using it.", pr.Progressed))
	}
	if len(out) == 0 { // the least the data says: it belongs to the pupil's programme
		r := &s.cat.Resources[c.idx]
		add(ReasonRightLevel,
			fmt.Sprintf("Ressource du programme de %s (%s).", r.Level, r.Subject),
			fmt.Sprintf("A resource of the %s curriculum (%s).", r.Level, r.Subject))
	}
	return out
}

// explainFallback builds the reasons of a non-personalised suggestion.
func explainFallback(s *snapshot, r *datasets.Resource, pinned bool, lang string) []Reason {
	en := isEN(lang)
	var out []Reason
	add := func(code, fr, eng string) {
		msg := fr
		if en {
			msg = eng
		}
		out = append(out, Reason{Code: code, Message: msg})
	}
	if pinned {
		add(ReasonTeacherPin, "Épinglée par l'enseignant.", "Pinned by the teacher.")
	}
	u := s.agg.Usage[r.ID]
	switch {
	case u.Users >= minSimilar && u.Attempts >= minSimilar:
		rate := float64(u.Successes) / float64(u.Attempts)
		add(ReasonPopularLevel,
			fmt.Sprintf("Choix fréquent en %s : utilisée par %d élèves, réussie dans %s des essais.", r.Level, u.Users, pctFR(rate)),
			fmt.Sprintf("Popular in %s: used by %d pupils, succeeded in %s of attempts.", r.Level, u.Users, pctEN(rate)))
	case u.Users >= minSimilar:
		add(ReasonPopularLevel,
			fmt.Sprintf("Choix fréquent en %s : utilisée par %d élèves.", r.Level, u.Users),
			fmt.Sprintf("Popular in %s: used by %d pupils.", r.Level, u.Users))
	default:
		add(ReasonRightLevel,
			fmt.Sprintf("Ressource du programme de %s (%s).", r.Level, r.Subject),
			fmt.Sprintf("A resource of the %s curriculum (%s).", r.Level, r.Subject))
	}
	return out
}

// isEN tells whether answers should be in English ("en", "en-GB", ...); French otherwise.
func isEN(lang string) bool { return strings.HasPrefix(strings.ToLower(lang), "en") }

func compLabel(cat *datasets.Catalogue, id string) string {
	if k, ok := cat.Competency(id); ok && k.Label != "" {
		return k.Label
	}
	return id
}

var monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// dateFR writes "12 mars" ("1er mars" on the first of the month).
func dateFR(t time.Time) string {
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + monthsFR[t.Month()-1]
}

// numFR writes a number with at most one decimal and the French decimal comma: 7,5 or 12.
func numFR(x float64) string { return strings.Replace(numEN(x), ".", ",", 1) }

func numEN(x float64) string {
	s := strconv.FormatFloat(math.Round(x*10)/10, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// pctFR writes a probability as "72 %" (French puts a space before the sign).
func pctFR(p float64) string { return fmt.Sprintf("%d %%", int(math.Round(p*100))) }

func pctEN(p float64) string { return fmt.Sprintf("%d%%", int(math.Round(p*100))) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
