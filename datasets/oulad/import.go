package oulad

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// Progress is told how many of total input bytes are read; nil means no reporting.
type Progress func(done, total int)

// Summary counts what an import read and wrote, and what it had to leave out.
type Summary struct {
	// SourceRows counts the data rows read per OULAD file (header excluded).
	SourceRows map[string]int `json:"source_rows"`

	Subjects     int `json:"subjects"`
	Classes      int `json:"classes"`
	Competencies int `json:"competencies"`
	Resources    int `json:"resources"`
	Students     int `json:"students"`
	Grades       int `json:"grades"`
	// GradesNonNote are submissions OULAD holds without a score (status non_note).
	GradesNonNote int `json:"grades_non_note"`
	// GradesNonRendu are TMA/CMA deadlines a pupil still registered let pass without
	// submitting (status non_rendu).
	GradesNonRendu int `json:"grades_non_rendu"`
	// GradesBanked are results carried over from an earlier presentation.
	GradesBanked int `json:"grades_banked"`
	Absences     int `json:"absences"`
	Lessons      int `json:"lessons"`
	Statements   int `json:"statements"`

	// SkippedSites are VLE sites that are not learning resources (the home page).
	SkippedSites int `json:"skipped_sites"`
	// UnknownActivityTypes are VLE sites of a type the mapping does not know,
	// imported as sheets.
	UnknownActivityTypes int `json:"unknown_activity_types"`
	// SkippedSubmissions are studentAssessment rows of a student registered on no
	// presentation: there is no pupil to give the grade to.
	SkippedSubmissions int `json:"skipped_submissions"`
	// SkippedClicks are studentVle rows about a skipped site or an unregistered pupil.
	SkippedClicks int `json:"skipped_clicks"`
	// SecondRegistrations are registrations of a pupil beyond the one that gives their
	// class: the pupil keeps their grades there, not a second class.
	SecondRegistrations int `json:"second_registrations"`
}

// Import reads the OULAD CSVs in inDir and writes a data folder into outDir. It writes
// every file in full beside the destination first and moves them into place only when
// all are written, so bad input (a *datasets.Error) leaves outDir untouched.
func Import(inDir, outDir string, progress Progress) (Summary, error) {
	m := newMeter(inDir, progress)
	src, err := readSource(inDir, m)
	if err != nil {
		return Summary{}, fmt.Errorf("oulad.Import: %w", err)
	}
	d, sum := build(src)
	out, err := newOutput(outDir)
	if err != nil {
		return Summary{}, fmt.Errorf("oulad.Import: %w", err)
	}
	defer out.abort()
	if err := out.writeFolder(d); err != nil {
		return Summary{}, fmt.Errorf("oulad.Import: %w", err)
	}
	n, skipped, err := streamUsage(inDir, out, d, sum.SourceRows, m)
	if err != nil {
		return Summary{}, fmt.Errorf("oulad.Import: %w", err)
	}
	sum.Statements, sum.SkippedClicks = n, skipped
	if err := out.commit(); err != nil {
		return Summary{}, fmt.Errorf("oulad.Import: %w", err)
	}
	m.finish()
	return sum, nil
}

// build maps the OULAD tables to a data folder (without usage, which is streamed).
func build(src *source) (*datasets.Dataset, Summary) {
	sum := Summary{SourceRows: src.rows}
	d := &datasets.Dataset{}
	d.Competencies = competencies(src)
	d.Students, sum.SecondRegistrations = students(src)
	d.Grades = grades(src, d.Students, &sum)
	diff := competencyDifficulty(d.Grades)
	d.Resources = resources(src, d.Competencies, diff, &sum)
	d.Absences = absences(src, d.Students)
	d.Lessons = lessons(src, d.Resources, d.Students)

	subjects := map[string]bool{}
	for _, c := range d.Competencies {
		subjects[c.Subject] = true
	}
	sum.Subjects, sum.Classes = len(subjects), len(src.pres)
	sum.Competencies, sum.Resources, sum.Students = len(d.Competencies), len(d.Resources), len(d.Students)
	sum.Grades, sum.Absences, sum.Lessons = len(d.Grades), len(d.Absences), len(d.Lessons)
	return d, sum
}

// competencies makes one competency per module and assessment type; the final exam
// covers the whole module, so its competency lists the module's others as
// prerequisites. A module with VLE sites but no assessment gets one COURSE competency
// so that its resources have something to serve.
func competencies(src *source) []datasets.Competency {
	types := map[string]map[string]string{} // module -> competency id -> assessment type as written
	for _, a := range src.assessments {
		if types[a.Module] == nil {
			types[a.Module] = map[string]string{}
		}
		types[a.Module][CompetencyID(a.Module, a.Type)] = a.Type
	}
	for _, v := range src.sites {
		if types[v.Module] == nil {
			types[v.Module] = map[string]string{CompetencyID(v.Module, "COURSE"): "course"}
		}
	}
	var out []datasets.Competency
	for _, m := range sortedKeys(types) {
		ids := sortedKeys(types[m])
		exam := CompetencyID(m, "Exam")
		for _, id := range ids {
			c := datasets.Competency{ID: id, Subject: Subject(m), Level: Level, Label: competencyLabel(m, types[m][id])}
			if id == exam {
				for _, p := range ids {
					if p != exam {
						c.Prerequisites = append(c.Prerequisites, p)
					}
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// students makes one pupil per OULAD student. A student registered on several
// presentations is placed in the class of the latest one (on a tie, one they did not
// leave, then the first module code); the second count is those other registrations.
func students(src *source) ([]datasets.Student, int) {
	best := map[string]registration{}
	second := 0
	for _, r := range src.regs {
		b, ok := best[r.Student]
		if !ok {
			best[r.Student] = r
			continue
		}
		second++
		if betterClass(r, b) {
			best[r.Student] = r
		}
	}
	out := make([]datasets.Student, 0, len(best))
	for _, r := range best {
		out = append(out, datasets.Student{ID: r.Student, SchoolID: SchoolID, ClassID: ClassID(r.Module, r.Pres), Level: Level, Consent: true})
	}
	sort.Slice(out, func(i, j int) bool { return lessNumeric(out[i].ID, out[j].ID) })
	return out, second
}

func betterClass(r, b registration) bool {
	rs, bs := dayOf(r.Pres, 0), dayOf(b.Pres, 0)
	switch {
	case !rs.Equal(bs):
		return rs.After(bs)
	case r.HasUnreg != b.HasUnreg:
		return !r.HasUnreg
	}
	return r.Key() < b.Key()
}

// grades turns each submission into a grade, and each TMA/CMA deadline a registered
// pupil let pass into a non_rendu grade. Missing exam rows are not non_rendu: OULAD
// holds exam results for only some modules.
func grades(src *source, pupils []datasets.Student, sum *Summary) []datasets.Grade {
	known := make(map[string]bool, len(pupils))
	for _, p := range pupils {
		known[p.ID] = true
	}
	submitted := make(map[[2]string]bool, len(src.subs))
	out := make([]datasets.Grade, 0, len(src.subs))
	for _, s := range src.subs {
		a := src.byID[s.Assessment]
		if !known[s.Student] {
			sum.SkippedSubmissions++
			continue
		}
		submitted[[2]string{s.Assessment, s.Student}] = true
		g := grade(a, s.Student, dayOf(a.Pres, s.Date))
		if s.HasScore {
			g.Score = s.Score
		} else {
			g.Status = datasets.StatusNonNote
			sum.GradesNonNote++
		}
		if s.Banked {
			sum.GradesBanked++
		}
		out = append(out, g)
	}
	byPres := map[string][]registration{}
	for _, r := range src.regs {
		byPres[r.Key()] = append(byPres[r.Key()], r)
	}
	for _, a := range src.assessments {
		if CompetencyID(a.Module, a.Type) == CompetencyID(a.Module, "Exam") {
			continue
		}
		for _, r := range byPres[ClassID(a.Module, a.Pres)] {
			if submitted[[2]string{a.ID, r.Student}] || (r.HasUnreg && r.Unreg <= a.Date) {
				continue
			}
			g := grade(&a, r.Student, dayOf(a.Pres, a.Date))
			g.Status = datasets.StatusNonRendu
			out = append(out, g)
			sum.GradesNonRendu++
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		return a.ID < b.ID
	})
	return out
}

func grade(a *assessment, student string, date time.Time) datasets.Grade {
	return datasets.Grade{
		ID:           "g-" + a.ID + "-" + student,
		StudentID:    student,
		Subject:      Subject(a.Module),
		Competencies: []string{CompetencyID(a.Module, a.Type)},
		AssessmentID: ItemID(*a),
		Date:         date,
		OutOf:        OutOf,
		Coefficient:  coefficient(a.Weight),
	}
}

// competencyDifficulty is the difficulty of each competency from its scored grades:
// the mean score, not the pass rate, since OULAD's pass mark (40) is so low that 96% of
// submissions pass and every difficulty would sit near -3.
func competencyDifficulty(gs []datasets.Grade) map[string]float64 {
	got, n := map[string]float64{}, map[string]int{}
	for _, g := range gs {
		if !g.Scored() {
			continue
		}
		for _, c := range g.Competencies {
			n[c]++
			got[c] += g.Score / g.OutOf
		}
	}
	out := make(map[string]float64, len(n))
	for c := range n {
		out[c] = difficulty(got[c], n[c])
	}
	return out
}

// resources makes one resource per VLE site but the home pages. Quizzes serve the
// module's computer-marked competency (its TMA one when it has none); everything else
// serves the module's other competencies (the content the written work and the exam
// assess).
func resources(src *source, comps []datasets.Competency, diff map[string]float64, sum *Summary) []datasets.Resource {
	byModule := map[string][]string{}
	for _, c := range comps {
		byModule[c.Subject] = append(byModule[c.Subject], c.ID)
	}
	out := make([]datasets.Resource, 0, len(src.sites))
	for _, v := range src.sites {
		k, known := kindOf(v.Type)
		if k.Skip {
			sum.SkippedSites++
			continue
		}
		if !known {
			sum.UnknownActivityTypes++
		}
		serves := servedBy(byModule[Subject(v.Module)], v.Module, k.Practice)
		// Average over the competencies that were assessed: an unassessed one (OULAD
		// lacks exam results for most modules) says nothing about difficulty.
		var dsum float64
		var dn int
		for _, c := range serves {
			if x, ok := diff[c]; ok {
				dsum, dn = dsum+x, dn+1
			}
		}
		out = append(out, datasets.Resource{
			ID: ResourceID(v.ID), Title: siteTitle(v), Subject: Subject(v.Module), Level: Level, Type: k.Type,
			Competencies: serves, Difficulty: roundMilli(dsum / float64(max(dn, 1))), DurationMin: k.DurationMin,
		})
	}
	return out
}

func servedBy(moduleComps []string, module string, practice bool) []string {
	cma, tma := CompetencyID(module, "CMA"), CompetencyID(module, "TMA")
	has := func(id string) bool {
		for _, c := range moduleComps {
			if c == id {
				return true
			}
		}
		return false
	}
	switch {
	case practice && has(cma):
		return []string{cma}
	case practice && has(tma):
		return []string{tma}
	}
	var out []string
	for _, c := range moduleComps {
		if c != cma || len(moduleComps) == 1 {
			out = append(out, c)
		}
	}
	return out
}

func roundMilli(f float64) float64 {
	if r := math.Round(f*1000) / 1000; r != 0 {
		return r
	}
	return 0 // no negative zero in the output
}

// absences turns the withdrawal from a pupil's class presentation into one justified
// absence from the unregistration day (or the start, if earlier) to the end of the
// presentation. Withdrawals from a pupil's other registrations are not absences: the
// pupil still attends their class.
func absences(src *source, pupils []datasets.Student) []datasets.Absence {
	class := make(map[string]string, len(pupils))
	for _, p := range pupils {
		class[p.ID] = p.ClassID
	}
	var out []datasets.Absence
	for _, r := range src.regs {
		if !r.HasUnreg || class[r.Student] != r.Key() {
			continue
		}
		p := src.pres[r.Key()]
		from := max(r.Unreg, 0)
		if from >= p.Length {
			continue
		}
		out = append(out, datasets.Absence{
			ID: "wd-" + r.Key() + "-" + r.Student, StudentID: r.Student,
			Start: dayOf(r.Pres, from), End: dayOf(r.Pres, p.Length), Justified: true,
		})
	}
	return out
}

// lessons builds the timetable from the VLE's study plan: OULAD gives, for some sites,
// the weeks they are planned for. Each week of a class with planned sites becomes one
// week-long lesson on the competencies those sites serve. Classes without a pupil
// (everyone moved to a later presentation) get none: a lesson needs a class.
func lessons(src *source, res []datasets.Resource, pupils []datasets.Student) []datasets.Lesson {
	serves := make(map[string][]string, len(res))
	for _, r := range res {
		serves[r.ID] = r.Competencies
	}
	classes := map[string]bool{}
	for _, p := range pupils {
		classes[p.ClassID] = true
	}
	type week struct {
		class string
		n     int
	}
	comps := map[week]map[string]bool{}
	var order []week
	for _, v := range src.sites {
		cs, ok := serves[ResourceID(v.ID)]
		class := ClassID(v.Module, v.Pres)
		if !ok || !v.HasWeeks || !classes[class] {
			continue
		}
		for w := max(v.WeekFrom, 1); w <= v.WeekTo; w++ {
			k := week{class, w}
			if comps[k] == nil {
				comps[k] = map[string]bool{}
				order = append(order, k)
			}
			for _, c := range cs {
				comps[k][c] = true
			}
		}
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].class != order[j].class {
			return order[i].class < order[j].class
		}
		return order[i].n < order[j].n
	})
	out := make([]datasets.Lesson, 0, len(order))
	for _, k := range order {
		p := src.pres[k.class]
		start := dayOf(p.Code, 7*(k.n-1))
		out = append(out, datasets.Lesson{
			ID: fmt.Sprintf("les-%s-w%02d", k.class, k.n), ClassID: k.class, Subject: Subject(p.Module),
			Competencies: sortedKeys(comps[k]), Start: start, End: start.AddDate(0, 0, 7),
		})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
