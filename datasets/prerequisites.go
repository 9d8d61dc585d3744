package datasets

import "strings"

// CheckAcyclic refuses a prerequisite cycle: no pupil could ever start a competency on
// one. comps are the new rows (a whole file, or an ingest batch) in file order; stored
// gives the prerequisites of a competency already stored (nil when there is no stored
// graph). A row of comps replaces the stored competency of the same id.
//
// The stored graph is acyclic (it passed this check), so any cycle runs through a row of
// comps, and the search starts from those rows only. The error is a *Error on the
// prerequisites column of the first row of comps on the cycle, at line(i) for row i (0
// when line is nil), naming the cycle in order (a → b → a: b is a prerequisite of a).
//
// The four places that used to carry a depth-first search of their own (the folder
// loader, both stores' ingest, the catalogue) all call this one.
func CheckAcyclic(file string, comps []Competency, line func(i int) int, stored func(id string) []string) error {
	row := make(map[string]int, len(comps))
	for i, c := range comps {
		row[c.ID] = i
	}
	prereqs := func(id string) []string {
		if i, ok := row[id]; ok {
			return comps[i].Prerequisites
		}
		if stored != nil {
			return stored(id)
		}
		return nil
	}
	cycle := findCycle(comps, prereqs)
	if cycle == nil {
		return nil
	}
	first := len(comps)
	for _, id := range cycle {
		if i, ok := row[id]; ok && i < first {
			first = i
		}
	}
	e := &Error{File: file, Field: "prerequisites", Msg: "prerequisite cycle: " + strings.Join(cycle, " → ")}
	if line != nil {
		e.Line = line(first)
	}
	return e
}

// findCycle is an iterative depth-first search (a long prerequisite chain must not grow
// the goroutine stack) from each root in order. It returns the ids of one cycle, the
// first repeated at the end, or nil.
func findCycle(roots []Competency, prereqs func(id string) []string) []string {
	const (
		open = 1 // on the current path
		done = 2 // fully explored, on no cycle
	)
	state := make(map[string]uint8, len(roots))
	type frame struct {
		id   string
		pre  []string
		next int
	}
	for _, r := range roots {
		if state[r.ID] != 0 {
			continue
		}
		stack := []frame{{r.ID, prereqs(r.ID), 0}}
		state[r.ID] = open
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(top.pre) {
				state[top.id] = done
				stack = stack[:len(stack)-1]
				continue
			}
			p := top.pre[top.next]
			top.next++
			switch state[p] {
			case open:
				var cycle []string
				for j := range stack {
					if stack[j].id == p {
						for _, f := range stack[j:] {
							cycle = append(cycle, f.id)
						}
						break
					}
				}
				return append(cycle, p)
			case 0:
				state[p] = open
				stack = append(stack, frame{p, prereqs(p), 0})
			}
		}
	}
	return nil
}
