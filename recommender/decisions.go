package recommender

// DecisionUndo takes back a teacher's latest decision on a resource: the one before it
// (if any) holds again. The history stays append-only, so the audit of who decided what
// survives an undo.
const DecisionUndo = "undo"

// ValidDecision tells whether v is a decision value a store keeps.
func ValidDecision(v string) bool {
	switch v {
	case DecisionApprove, DecisionReject, DecisionPin, DecisionUndo:
		return true
	}
	return false
}

// LatestDecisions replays a pupil's decisions (oldest first) and returns, per resource,
// the decision in force: each undo takes back the latest decision still in force on its
// resource, so that after reject, pin, undo the rejection holds again, and after a lone
// undo nothing does.
func LatestDecisions(ds []Decision) map[string]Decision {
	stacks := map[string][]Decision{}
	for _, d := range ds {
		s := stacks[d.ResourceID]
		if d.Decision == DecisionUndo {
			if len(s) > 0 {
				stacks[d.ResourceID] = s[:len(s)-1]
			}
			continue
		}
		stacks[d.ResourceID] = append(s, d)
	}
	out := make(map[string]Decision, len(stacks))
	for id, s := range stacks {
		if len(s) > 0 {
			out[id] = s[len(s)-1]
		}
	}
	return out
}
