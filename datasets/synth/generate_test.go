package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/parcours-ent/parcours/datasets"
)

// hashFolder returns the sha256 of every file under dir, by relative path.
func hashFolder(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func generate(tb testing.TB, cfg Config) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := Generate(cfg, dir, nil); err != nil {
		tb.Fatalf("Generate: %v", err)
	}
	return dir
}

func TestGenerate(t *testing.T) {
	small := Config{Students: 120, Seed: 7, Weeks: 12}
	t.Run("SameSeedGivesSameBytesWhateverTheWorkers", func(t *testing.T) {
		a := small
		a.Workers = 1
		b := small
		b.Workers = 3
		ha, hb := hashFolder(t, generate(t, a)), hashFolder(t, generate(t, b))
		if len(ha) != 11 {
			t.Fatalf("got %d files, want 11: %v", len(ha), ha)
		}
		if d := cmp.Diff(ha, hb); d != "" {
			t.Fatalf("file hashes differ (-1 worker +3 workers):\n%s", d)
		}
	})
	t.Run("OtherSeedGivesOtherPupils", func(t *testing.T) {
		a := hashFolder(t, generate(t, small))
		other := small
		other.Seed = 8
		b := hashFolder(t, generate(t, other))
		for _, f := range []string{datasets.GradesFile, datasets.UsageFile, datasets.ResourcesFile} {
			if a[f] == b[f] {
				t.Errorf("%s identical for seeds 7 and 8", f)
			}
		}
		if a[datasets.CompetenciesFile] != b[datasets.CompetenciesFile] {
			t.Errorf("the programme (competencies.csv) changed with the seed")
		}
	})
	t.Run("ReportsProgressUpToTheTotal", func(t *testing.T) {
		var last, calls int
		err := Generate(Config{Students: 90, Weeks: 2}, t.TempDir(), func(done, total int) {
			if total != 90 || done < last {
				t.Errorf("progress(%d, %d) after %d", done, total, last)
			}
			last, calls = done, calls+1
		})
		if err != nil || last != 90 || calls < 2 {
			t.Fatalf("err %v, last %d, calls %d", err, last, calls)
		}
	})
	t.Run("TinyAcademieStillLoads", func(t *testing.T) {
		dir := generate(t, Config{Students: 3, Weeks: 2, NoHolidays: true})
		d, err := datasets.LoadFolder(dir, datasets.LoadOptions{})
		if err != nil || len(d.Students) != 3 {
			t.Fatalf("LoadFolder: %v", err)
		}
	})
	t.Run("RejectsNegativeSizes", func(t *testing.T) {
		if err := Generate(Config{Students: -1}, t.TempDir(), nil); err == nil {
			t.Fatal("no error for Students: -1")
		}
	})
}

// TestGeneratedFolderLoads checks the folder against the readers of package datasets,
// and that GenerateDataset holds exactly what the folder does.
func TestGeneratedFolderLoads(t *testing.T) {
	cfg := Config{Students: 200, Seed: 3}
	dir := generate(t, cfg)
	got, err := datasets.LoadFolder(dir, datasets.LoadOptions{})
	if err != nil {
		t.Fatalf("LoadFolder: %v", err)
	}
	want, _, err := GenerateDataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Students) != 200 {
		t.Fatalf("loaded %d students, want 200", len(got.Students))
	}
	if _, err := datasets.NewCatalogue(got.Competencies, got.Resources); err != nil {
		t.Fatalf("catalogue: %v", err)
	}
	opts := cmp.Options{cmpopts.EquateEmpty(), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
	if d := cmp.Diff(want, got, opts); d != "" {
		t.Fatalf("GenerateDataset differs from LoadFolder(Generate) (-memory +folder):\n%.3000s", d)
	}
}

// BenchmarkGenerate measures whole folders. At 5000 pupils the truth trajectories are
// capped (Config.TruthStudents) as they are at 100,000, so pupils/s extrapolates.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run("Students"+strconv.Itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := Generate(Config{Students: n, Seed: uint64(i)}, b.TempDir(), nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "pupils/s")
		})
	}
}

func BenchmarkGenerateDataset(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, _, err := GenerateDataset(Config{Students: 300, Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
}
