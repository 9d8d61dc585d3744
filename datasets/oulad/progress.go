package oulad

import (
	"io"
	"os"
	"path/filepath"
)

// meter turns the input bytes read into Progress calls: the click table can take a
// minute, and a step count would sit still through it. A nil meter counts nothing.
type meter struct {
	fn          Progress
	done, total int64
	last        int64
}

// reportEvery is how many bytes pass between two Progress calls.
const reportEvery = 1 << 20

func newMeter(dir string, fn Progress) *meter {
	if fn == nil {
		return nil
	}
	m := &meter{fn: fn}
	for _, name := range append(requiredFiles, ClicksFile) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			m.total += fi.Size()
		}
	}
	fn(0, int(m.total))
	return m
}

func (m *meter) add(n int) {
	if m == nil {
		return
	}
	m.done += int64(n)
	if m.done-m.last >= reportEvery {
		m.last = m.done
		m.fn(int(min(m.done, m.total)), int(m.total))
	}
}

// finish reports the whole input read.
func (m *meter) finish() {
	if m != nil {
		m.fn(int(m.total), int(m.total))
	}
}

type meteredReader struct {
	r io.Reader
	m *meter
}

func (r meteredReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.m.add(n)
	return n, err
}
