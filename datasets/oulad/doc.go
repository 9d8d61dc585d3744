// Package oulad imports the Open University Learning Analytics Dataset (OULAD; Kuzilek,
// Hlosta and Zdrahal, Scientific Data 4:170171, 2017, CC-BY 4.0) into Parcours's data
// folder format, and exports its assessment submissions as interaction logs for
// `parcours eval mastery`.
//
// OULAD is university data: modules become subjects, presentations (a module run in
// one semester) become classes, assessments become Pronote-style grades, VLE sites
// become resources and, when studentVle.csv is present, clicks become xAPI usage
// statements. docs/oulad.md holds the full mapping table and what cannot be mapped.
//
// It must never carry a sensitive OULAD column into its output: gender, region,
// highest_education, imd_band, age_band and disability are never even read (data
// minimisation), and neither are num_of_prev_attempts, studied_credits or
// final_result, which Parcours has no use for. Output is deterministic: the same input
// gives the same bytes. On bad input it writes nothing and returns a
// *datasets.Error naming the OULAD file, line and column.
package oulad
