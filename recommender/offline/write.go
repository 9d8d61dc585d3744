package offline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write puts report.json, report.md and the PNG plots of rep into dir (created if
// needed). Files are written beside their final name and renamed into place.
func Write(rep *Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("offline.Write: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("offline.Write: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, "report.json"), append(js, '\n')); err != nil {
		return err
	}
	plots, err := writePlots(rep, dir)
	if err != nil {
		return fmt.Errorf("offline.Write: plots: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, "report.md"), []byte(markdown(rep, plots))); err != nil {
		return err
	}
	return nil
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("offline.Write: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("offline.Write: %w", err)
	}
	return nil
}
