package experiment

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sort"
)

// Class is what assignment knows of a class: its school and level.
type Class struct {
	ID       string
	SchoolID string
	Level    string
}

// Assign gives each class of the experiment's schools and levels an arm. Classes are
// grouped by school × level (the strata), shuffled within each by a hash of the seed and
// their id, and dealt to the arms in turn, the deal carrying on from one stratum to the
// next: every stratum and the whole experiment are balanced to within one class, and the
// same definition and classes give the same assignment whatever their order.
func Assign(d *Definition, classes []Class) []Assignment {
	var in []Class
	for _, c := range classes {
		if (len(d.Schools) == 0 || slices.Contains(d.Schools, c.SchoolID)) && (len(d.Levels) == 0 || slices.Contains(d.Levels, c.Level)) {
			in = append(in, c)
		}
	}
	sort.Slice(in, func(a, b int) bool {
		x, y := in[a], in[b]
		if x.SchoolID != y.SchoolID {
			return x.SchoolID < y.SchoolID
		}
		if x.Level != y.Level {
			return x.Level < y.Level
		}
		hx, hy := hash64(d.Seed, "class", x.ID), hash64(d.Seed, "class", y.ID)
		if hx != hy {
			return hx < hy
		}
		return x.ID < y.ID
	})
	// The first arm of the deal is drawn too, so that the control does not always get
	// the odd class.
	turn := int(hash64(d.Seed, "deal", d.ID) % uint64(len(d.Arms)))
	out := make([]Assignment, 0, len(in))
	for _, c := range in {
		out = append(out, Assignment{ClassID: c.ID, SchoolID: c.SchoolID, Level: c.Level, Arm: d.Arms[turn%len(d.Arms)].Name})
		turn++
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ClassID < out[b].ClassID })
	return out
}

func hash64(seed uint64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
