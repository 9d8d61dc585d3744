package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// DefaultChunkRows is how many rows of a file IngestFolder holds in memory at once: the
// one constant that bounds its memory whatever the size of the folder (a parsed grade is
// about 250 bytes, a statement about 400, so a chunk is a few MB).
const DefaultChunkRows = 20_000

// FolderOptions tune IngestFolder. The zero value is usable.
type FolderOptions struct {
	ChunkRows int                                 // DefaultChunkRows when zero
	Limits    datasets.Limits                     // bounds of the readers
	Progress  func(done, total int64)             // bytes read of the folder's files, when set
	Trace     func(file, step string, ms float64) // timing of each step, when set
	// Future, when set, refuses grades, absences and statements dated after it
	// (datasets.CheckNotFuture: now plus the configured tolerance).
	Future time.Time
}

// IngestFolder loads the data folder dir in one transaction (a Bulk): each file, in
// reference order, is streamed in chunks into its staging table, checked against what is
// stored plus the files before it, and merged. A bad row in any file, the last one
// included, loads nothing and is a *datasets.Error naming file, line and field.
// competencies.csv, resources.csv and students.csv are required; a truth/ subfolder is
// never read.
func (s *Store) IngestFolder(ctx context.Context, dir string, opts FolderOptions) (BulkResult, error) {
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	opts.Limits.CallerChecksDuplicates = true
	sizes, total, err := folderSizes(dir)
	if err != nil {
		return BulkResult{}, err
	}
	b, err := s.BeginBulk(ctx)
	if err != nil {
		return BulkResult{}, err
	}
	defer b.Rollback(ctx)
	b.trace = opts.Trace
	b.future = opts.Future
	var done int64
	for _, name := range datasets.FolderFiles {
		if _, ok := sizes[name]; !ok {
			continue
		}
		if err := b.loadFile(ctx, filepath.Join(dir, name), name, opts, &done, total); err != nil {
			return BulkResult{}, err
		}
	}
	if err := b.loadClasses(ctx, dir, opts.Limits); err != nil {
		return BulkResult{}, err
	}
	return b.Commit(ctx)
}

// loadClasses stores the optional classes.csv (class labels: one row per class, a few
// thousand at most, read whole) in the load's transaction.
func (b *Bulk) loadClasses(ctx context.Context, dir string, lim datasets.Limits) error {
	f, err := os.Open(filepath.Join(dir, datasets.ClassesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgstore.IngestFolder: %w", err)
	}
	defer f.Close()
	var cs []datasets.Class
	if err := lim.ReadClasses(f, datasets.ClassesFile, func(c datasets.Class) error { cs = append(cs, c); return nil }); err != nil {
		return err
	}
	if err := ingestExtras(ctx, b.tx, &datasets.Dataset{Classes: cs}); err != nil {
		return fmt.Errorf("pgstore.IngestFolder: %w", err)
	}
	b.staged[datasets.ClassesFile] = len(cs)
	b.merged[datasets.ClassesFile] = true
	return nil
}

func (b *Bulk) loadFile(ctx context.Context, path, name string, opts FolderOptions, done *int64, total int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pgstore.IngestFolder: %w", err)
	}
	defer f.Close()
	var stored time.Time // when the file was written: the timestamp of statements without one
	if fi, err := f.Stat(); err == nil {
		stored = fi.ModTime()
	}
	var r io.Reader = f
	if opts.Progress != nil {
		r = &countingReader{r: f, n: done, report: func() { opts.Progress(*done, total) }}
	}
	t0 := time.Now()
	err = opts.Limits.StreamFile(r, name, stored, opts.ChunkRows, func(chunk *datasets.Dataset, lines []int) error {
		return b.Stage(ctx, name, chunk, lines)
	})
	if err != nil {
		return err
	}
	if b.trace != nil {
		b.trace(name, "read+copy", float64(time.Since(t0).Microseconds())/1000)
		b.traceStage(name)
	}
	return b.Merge(ctx, name)
}

// folderSizes returns the byte size of each data-folder file present in dir and their
// total, and refuses a folder without a required file.
func folderSizes(dir string) (map[string]int64, int64, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, 0, &datasets.Error{File: dir, Msg: "not a data folder"}
	}
	sizes := map[string]int64{}
	var total int64
	var required []string
	for _, name := range datasets.FolderFiles {
		if datasets.RequiredFile(name) {
			required = append(required, name)
		}
	}
	for _, name := range datasets.FolderFiles {
		st, err := os.Stat(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist) && datasets.RequiredFile(name):
			return nil, 0, &datasets.Error{File: name, Msg: "missing: a data folder needs " + strings.Join(required, ", ")}
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, 0, fmt.Errorf("pgstore.IngestFolder: %w", err)
		}
		sizes[name] = st.Size()
		total += st.Size()
	}
	return sizes, total, nil
}

// countingReader counts the bytes read, for progress reports about every MiB.
type countingReader struct {
	r      io.Reader
	n      *int64
	report func()
	since  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	*c.n += int64(k)
	if c.since += int64(k); c.since > 1<<20 {
		c.since = 0
		c.report()
	}
	return k, err
}
