package oulad

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/parcours-ent/parcours/datasets"
)

// output writes files into a hidden temporary folder inside the destination and moves
// them into place only on commit, so a failed import leaves the destination as it was.
type output struct {
	dst, tmp string
	names    []string
	created  bool // dst did not exist: abort removes it again
	done     bool
}

func newOutput(dst string) (*output, error) {
	_, err := os.Stat(dst)
	created := errors.Is(err, fs.ErrNotExist)
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dst, ".oulad-tmp-*")
	if err != nil {
		return nil, err
	}
	return &output{dst: dst, tmp: tmp, created: created}, nil
}

// write creates name in the temporary folder and fills it with fn, buffered.
func (o *output) write(name string, fn func(io.Writer) error) error {
	f, err := os.OpenFile(filepath.Join(o.tmp, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	err = fn(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	o.names = append(o.names, name)
	return nil
}

// writeFolder writes the six CSV files of d with the data-folder record encoders.
func (o *output) writeFolder(d *datasets.Dataset) error {
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{datasets.CompetenciesFile, func(w io.Writer) error { return datasets.WriteCompetencies(w, d.Competencies) }},
		{datasets.ResourcesFile, func(w io.Writer) error { return datasets.WriteResources(w, d.Resources) }},
		{datasets.StudentsFile, func(w io.Writer) error { return datasets.WriteStudents(w, d.Students) }},
		{datasets.LessonsFile, func(w io.Writer) error { return datasets.WriteLessons(w, d.Lessons) }},
		{datasets.GradesFile, func(w io.Writer) error { return datasets.WriteGrades(w, d.Grades) }},
		{datasets.AbsencesFile, func(w io.Writer) error { return datasets.WriteAbsences(w, d.Absences) }},
	}
	for _, f := range files {
		if err := o.write(f.name, f.write); err != nil {
			return err
		}
	}
	return nil
}

func (o *output) commit() error {
	for _, n := range o.names {
		if err := os.Rename(filepath.Join(o.tmp, n), filepath.Join(o.dst, n)); err != nil {
			return err
		}
	}
	o.done = true
	return os.RemoveAll(o.tmp)
}

// abort removes whatever commit did not move, and the destination if it made it; it is
// safe after commit.
func (o *output) abort() {
	os.RemoveAll(o.tmp)
	if o.created && !o.done {
		os.Remove(o.dst) // only if empty
	}
}
