package synth

import "testing"

// TestSimulatorOfDrawsAsTheFullSimulator checks that a simulator restoring only some
// pupils gives those pupils the same states and the same draws as one restoring all.
func TestSimulatorOfDrawsAsTheFullSimulator(t *testing.T) {
	tr, _ := smallTruth(t)
	full, err := tr.Simulator(2, 9)
	if err != nil {
		t.Fatal(err)
	}
	ids := full.Pupils()
	if len(ids) < 4 {
		t.Fatalf("only %d pupils restored", len(ids))
	}
	keep := map[string]bool{ids[1]: true, ids[3]: true}
	part, err := tr.SimulatorOf(tr.Info.Params, 2, 9, func(id string) bool { return keep[id] })
	if err != nil {
		t.Fatal(err)
	}
	if got := part.Pupils(); len(got) != 2 || got[0] != ids[1] || got[1] != ids[3] {
		t.Fatalf("pupils %v, want %v and %v", got, ids[1], ids[3])
	}
	res := tr.m.c.res[0].ID
	for w := range 3 {
		for _, id := range part.Pupils() {
			for range 5 {
				a, err1 := full.Practice(id, res)
				b, err2 := part.Practice(id, res)
				if err1 != nil || err2 != nil || a != b {
					t.Fatalf("week %d, %s: full %v (%v), part %v (%v)", w, id, a, err1, b, err2)
				}
			}
			pa, _ := full.PSuccess(id, res)
			pb, _ := part.PSuccess(id, res)
			if pa != pb {
				t.Fatalf("week %d, %s: P(success) %v vs %v", w, id, pa, pb)
			}
		}
		full.AdvanceWeek()
		part.AdvanceWeek()
	}
	if _, err := part.PSuccess(ids[0], res); err == nil {
		t.Error("a pupil left out is known to the partial simulator")
	}
}
