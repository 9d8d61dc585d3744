package main

import (
	"errors"
	"testing"
)

func TestTargetSuccessConfiguration(t *testing.T) {
	tests := []struct {
		name, raw string
		want      float64
		auto, bad bool
	}{
		{"AutoIsChosenFromData", "auto", 0, true, false},
		{"AFixedTargetIsKept", "0.65", 0.65, false, false},
		{"OutOfRangeIsBadUsage", "1.5", 0, false, true},
		{"NotANumberIsBadUsage", "high", 0, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PARCOURS_TARGET_SUCCESS", tc.raw)
			cfg, err := loadConfig()
			if tc.bad {
				var u usageError
				if err == nil || !errors.As(err, &u) {
					t.Fatalf("PARCOURS_TARGET_SUCCESS=%s: err %v, want bad usage", tc.raw, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TargetSuccess != tc.want || cfg.AutoTarget != tc.auto {
				t.Errorf("TargetSuccess %v auto %v, want %v auto %v", cfg.TargetSuccess, cfg.AutoTarget, tc.want, tc.auto)
			}
		})
	}
}
