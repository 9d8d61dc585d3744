package main

import (
	"strings"

	"github.com/parcours-ent/parcours/datasets"
)

// Fictitious first and last names for the generated académie, so that the teacher's page
// shows what it shows on a real roster. Chosen by the pupil's rank: no randomness is
// drawn, so the generated data are otherwise the same bytes as `parcours generate`'s.
var (
	demoFirst = []string{"Léa", "Hugo", "Chloé", "Louis", "Manon", "Nathan", "Inès", "Gabriel", "Jade", "Adam",
		"Emma", "Raphaël", "Lina", "Arthur", "Zoé", "Jules", "Camille", "Noah", "Sarah", "Tom", "Louise", "Ethan", "Alice", "Yanis"}
	demoLast = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
		"Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont"}
)

// nameDemo gives the generated pupils display names and their classes labels
// ("6e A · etab-0001").
func nameDemo(d *datasets.Dataset) {
	seen := map[string]bool{}
	for i := range d.Students {
		s := &d.Students[i]
		if s.DisplayName == "" {
			s.DisplayName = demoFirst[i%len(demoFirst)] + " " + demoLast[(i/len(demoFirst)+i*7)%len(demoLast)]
		}
		if seen[s.ClassID] {
			continue
		}
		seen[s.ClassID] = true
		d.Classes = append(d.Classes, datasets.Class{ID: s.ClassID, SchoolID: s.SchoolID, Label: demoClassLabel(s.ClassID, s.SchoolID)})
	}
}

// demoClassLabel turns "etab-0001-6eA" into "6e A · etab-0001".
func demoClassLabel(classID, schoolID string) string {
	short := strings.TrimPrefix(strings.TrimPrefix(classID, schoolID), "-")
	if n := len(short); n >= 2 && short[n-1] >= 'A' && short[n-1] <= 'Z' {
		short = short[:n-1] + " " + short[n-1:]
	}
	return short + " · " + schoolID
}
