package oulad

import (
	"crypto/sha1"
	"encoding/hex"
	"io"
	"strconv"

	"github.com/parcours-ent/parcours/datasets"
)

// streamUsage turns studentVle.csv, when present, into usage.jsonl: one "viewed"
// statement per row (a pupil's clicks on one site on one day). OULAD's sum_click has
// no xAPI field Parcours keeps, so it is dropped. The file can hold millions of rows,
// so it is streamed, never held. Rows about a home page or a pupil who is not in
// students.csv are skipped and counted. Without studentVle.csv the file is empty.
func streamUsage(dir string, out *output, d *datasets.Dataset, rows map[string]int, m *meter) (n, skipped int, err error) {
	t, err := openTable(dir, ClicksFile, m, true, "code_module", "code_presentation", "id_student", "id_site", "date")
	if err != nil {
		return 0, 0, err
	}
	err = out.write(datasets.UsageFile, func(w io.Writer) error {
		if t == nil {
			return nil
		}
		defer t.close()
		pupils := make(map[string]bool, len(d.Students))
		for _, s := range d.Students {
			pupils[s.ID] = true
		}
		res := make(map[string]bool, len(d.Resources))
		for _, r := range d.Resources {
			res[r.ID] = true
		}
		return eachClick(t, rows, func(c click) error {
			if !pupils[c.student] || !res[ResourceID(c.site)] {
				skipped++
				return nil
			}
			st := datasets.Statement{
				ID: statementID(t.line, c), StudentID: c.student, Verb: datasets.VerbViewed,
				ObjectID: ResourceID(c.site), Timestamp: dayOf(c.pres, c.day),
			}
			b, err := st.MarshalXAPI()
			if err != nil {
				return err
			}
			if _, err := w.Write(append(b, '\n')); err != nil {
				return err
			}
			n++
			return nil
		})
	})
	return n, skipped, err
}

type click struct {
	module, pres, student, site string
	day                         int
}

func eachClick(t *table, rows map[string]int, fn func(click) error) error {
	for {
		ok, err := t.next()
		if err != nil || !ok {
			return err
		}
		rows[ClicksFile]++
		var c click
		for _, f := range []struct {
			col string
			dst *string
		}{{"code_module", &c.module}, {"code_presentation", &c.pres}, {"id_student", &c.student}, {"id_site", &c.site}} {
			if *f.dst, err = t.id(f.col); err != nil {
				return err
			}
		}
		if _, err := presentationStart(c.pres); err != nil {
			return t.fail("code_presentation", "%v", err)
		}
		d, ok, err := t.day("date")
		if err != nil {
			return err
		}
		if !ok {
			return t.fail("date", "empty")
		}
		c.day = d
		if err := fn(c); err != nil {
			return err
		}
	}
}

// statementID is a name-based (version 5 layout) UUID of the row, so the same file
// always gives the same ids and two identical rows still get two ids.
func statementID(line int, c click) string {
	h := sha1.Sum([]byte("oulad/studentVle\x00" + strconv.Itoa(line) + "\x00" + c.module + "\x00" + c.pres +
		"\x00" + c.student + "\x00" + c.site + "\x00" + strconv.Itoa(c.day)))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
