-- A teacher may undo a decision (recommender.DecisionUndo): the history stays append-only
-- (who decided what, when, and who took it back), and the latest decision on a resource
-- is found by replaying it.

-- +goose Up
ALTER TABLE decisions DROP CONSTRAINT decisions_decision_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_decision_check CHECK (decision IN ('approve', 'reject', 'pin', 'undo'));

-- +goose Down
DELETE FROM decisions WHERE decision = 'undo';
ALTER TABLE decisions DROP CONSTRAINT decisions_decision_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_decision_check CHECK (decision IN ('approve', 'reject', 'pin'));
