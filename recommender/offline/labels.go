package offline

import (
	"slices"

	"github.com/parcours-ent/parcours/datasets"
)

// sortLabels orders slice labels: levels in school order, then the rest alphabetically.
func sortLabels(ls []string) {
	slices.SortFunc(ls, func(a, b string) int {
		ia, ib := datasets.LevelIndex(a), datasets.LevelIndex(b)
		if ia >= 0 && ib >= 0 {
			return ia - ib
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
}
