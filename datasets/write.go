package datasets

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
)

// recorder is any value with a data-folder CSV row.
type recorder interface{ Record() []string }

// writeCSV writes header then one row per value. encoding/csv quotes a field only when it
// must, so the same values always give the same bytes.
func writeCSV[T recorder](w io.Writer, name string, header []string, xs []T) error {
	header = usedColumns(header, xs)
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("datasets: writing %s: %w", name, err)
	}
	for _, x := range xs {
		if err := cw.Write(x.Record()[:len(header)]); err != nil {
			return fmt.Errorf("datasets: writing %s: %w", name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("datasets: writing %s: %w", name, err)
	}
	return nil
}

// usedColumns drops the trailing optional columns that no row fills, so that files
// without names or URLs keep the first version's columns (and bytes).
func usedColumns[T recorder](header []string, xs []T) []string {
	n := len(header)
	for n > 0 && optionalColumns[header[n-1]] {
		used := false
		for _, x := range xs {
			if x.Record()[n-1] != "" {
				used = true
				break
			}
		}
		if used {
			break
		}
		n--
	}
	return header[:n]
}

// WriteCompetencies writes competencies.csv.
func WriteCompetencies(w io.Writer, xs []Competency) error {
	return writeCSV(w, CompetenciesFile, CompetenciesHeader, xs)
}

// WriteResources writes resources.csv.
func WriteResources(w io.Writer, xs []Resource) error {
	return writeCSV(w, ResourcesFile, ResourcesHeader, xs)
}

// WriteStudents writes students.csv.
func WriteStudents(w io.Writer, xs []Student) error {
	return writeCSV(w, StudentsFile, StudentsHeader, xs)
}

// WriteLessons writes lessons.csv.
func WriteLessons(w io.Writer, xs []Lesson) error {
	return writeCSV(w, LessonsFile, LessonsHeader, xs)
}

// WriteGrades writes grades.csv.
func WriteGrades(w io.Writer, xs []Grade) error {
	return writeCSV(w, GradesFile, GradesHeader, xs)
}

// WriteAbsences writes absences.csv.
func WriteAbsences(w io.Writer, xs []Absence) error {
	return writeCSV(w, AbsencesFile, AbsencesHeader, xs)
}

// WriteStatements writes usage.jsonl: one MarshalXAPI line per statement.
func WriteStatements(w io.Writer, xs []Statement) error {
	bw := bufio.NewWriter(w)
	for _, st := range xs {
		b, err := st.MarshalXAPI()
		if err != nil {
			return fmt.Errorf("datasets: writing %s: %w", UsageFile, err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("datasets: writing %s: %w", UsageFile, err)
	}
	return nil
}

// WriteClasses writes classes.csv.
func WriteClasses(w io.Writer, xs []Class) error {
	return writeCSV(w, ClassesFile, ClassesHeader, xs)
}
