package datasets

import (
	"strings"
	"testing"
	"time"
)

const goodStatement = `{"id":"0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":{"objectType":"Agent","account":{"homePage":"https://ent.example.fr","name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered","display":{"fr-FR":"a répondu"}},"object":{"objectType":"Activity","id":"R1"},"result":{"score":{"scaled":0.5,"raw":5},"success":false,"completion":true,"duration":"PT1H2M3.5S"},"context":{"registration":"ec531277-b57b-4c15-8d91-d292c5b2b8f7"},"timestamp":"2024-01-10T18:00:00+01:00"}`

// edit replaces old by new in goodStatement, failing when old is not there.
func edit(tb testing.TB, old, new string) string {
	tb.Helper()
	if !strings.Contains(goodStatement, old) {
		tb.Fatalf("fixture has no %q", old)
	}
	return strings.Replace(goodStatement, old, new, 1)
}

func TestReadStatementsKeepsTheContractFields(t *testing.T) {
	sts, err := ReadStatementsAll(strings.NewReader("\uFEFF"+goodStatement+"\r\n\n"), UsageFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 {
		t.Fatalf("got %d statements, want 1", len(sts))
	}
	st := sts[0]
	want := Statement{ID: "0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b", StudentID: "S1", Verb: VerbAnswered, ObjectID: "R1",
		Timestamp: at0(t, "2024-01-10T17:00:00Z")}
	if st.ID != want.ID || st.StudentID != want.StudentID || st.Verb != want.Verb || st.ObjectID != want.ObjectID || !st.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("got %+v, want %+v", st, want)
	}
	if st.Scaled == nil || *st.Scaled != 0.5 || st.Success == nil || *st.Success || st.Completion == nil || !*st.Completion {
		t.Fatalf("result not kept: %+v", st)
	}
	if st.Duration == nil || *st.Duration != time.Hour+2*time.Minute+3500*time.Millisecond {
		t.Fatalf("duration %v, want 1h2m3.5s", st.Duration)
	}
	if st.Timestamp.Location() != time.UTC {
		t.Fatalf("timestamp not in UTC: %v", st.Timestamp)
	}
}

func TestReadStatementsRejectsBadStatementsNamingLineAndPath(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		field string
	}{
		{"RejectsNonJSON", `{"id":`, ""},
		{"RejectsArrayLine", `[1,2]`, ""},
		{"RejectsNonUUIDID", edit(t, `0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b`, `stmt-1`), "id"},
		{"RejectsNumericID", edit(t, `"0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b"`, `12`), "id"},
		{"RejectsMissingActor", edit(t, `"actor":{"objectType":"Agent","account":{"homePage":"https://ent.example.fr","name":"S1"}},`, ""), "actor"},
		{"RejectsMissingAccountName", edit(t, `,"name":"S1"`, ""), "actor.account.name"},
		{"RejectsEmptyAccountName", edit(t, `"name":"S1"`, `"name":""`), "actor.account.name"},
		{"RejectsTwoIdentifiers", edit(t, `"objectType":"Agent",`, `"objectType":"Agent","mbox":"mailto:eleve@example.fr",`), "actor"},
		{"RejectsMboxWithoutMailto", edit(t, `"account":{"homePage":"https://ent.example.fr","name":"S1"}`, `"mbox":"eleve@example.fr"`), "actor.mbox"},
		{"RejectsBadMboxSHA1", edit(t, `"account":{"homePage":"https://ent.example.fr","name":"S1"}`, `"mbox_sha1sum":"abc"`), "actor.mbox_sha1sum"},
		{"RejectsAccountWithoutHomePage", edit(t, `"homePage":"https://ent.example.fr",`, ``), "actor.account.homePage"},
		{"RejectsAgentWithoutIdentifier", edit(t, `"account":{"homePage":"https://ent.example.fr","name":"S1"}`, `"name":"Anne"`), "actor"},
		{"RejectsUnknownActorType", edit(t, `"objectType":"Agent"`, `"objectType":"Person"`), "actor.objectType"},
		{"RejectsAnonymousGroupWithoutMembers", edit(t, `"objectType":"Agent","account":{"homePage":"https://ent.example.fr","name":"S1"}`, `"objectType":"Group"`), "actor.member"},
		{"RejectsRawAboveMax", edit(t, `"raw":5`, `"raw":5,"min":0,"max":4`), "result.score.raw"},
		{"RejectsMinNotBelowMax", edit(t, `"raw":5`, `"raw":5,"min":10,"max":10`), "result.score.max"},
		{"RejectsBadRegistration", edit(t, `ec531277-b57b-4c15-8d91-d292c5b2b8f7`, `reg-1`), "context.registration"},
		{"RejectsParentWithoutID", edit(t, `"registration":"ec531277-b57b-4c15-8d91-d292c5b2b8f7"`, `"contextActivities":{"parent":[{"objectType":"Activity"}]}`), "context.contextActivities.parent.0.id"},
		{"RejectsBadVersion", edit(t, `"timestamp"`, `"version":"2.0.0","timestamp"`), "version"},
		{"RejectsVerbDisplayThatIsNotALanguageMap", edit(t, `"display":{"fr-FR":"a répondu"}`, `"display":"a répondu"`), "verb.display"},
		{"RejectsMissingVerbID", edit(t, `"id":"http://adlnet.gov/expapi/verbs/answered",`, ""), "verb.id"},
		{"RejectsVerbThatIsNotAnIRI", edit(t, `http://adlnet.gov/expapi/verbs/answered`, `answered`), "verb.id"},
		{"RejectsMissingObjectID", edit(t, `,"id":"R1"`, ""), "object.id"},
		{"RejectsAgentObjectWithoutIdentifier", edit(t, `"objectType":"Activity"`, `"objectType":"Agent"`), "object"},
		{"RejectsUnknownObjectType", edit(t, `"objectType":"Activity"`, `"objectType":"Thing"`), "object.objectType"},
		{"RejectsVoidingAnActivity", edit(t, `http://adlnet.gov/expapi/verbs/answered`, VerbVoided), "object.objectType"},
		{"RejectsScaledAboveOne", edit(t, `"scaled":0.5`, `"scaled":1.5`), "result.score.scaled"},
		{"RejectsScaledAsString", edit(t, `"scaled":0.5`, `"scaled":"0.5"`), "result.score.scaled"},
		{"RejectsSuccessAsString", edit(t, `"success":false`, `"success":"false"`), "result.success"},
		{"RejectsCompletionAsNumber", edit(t, `"completion":true`, `"completion":1`), "result.completion"},
		{"RejectsBadDuration", edit(t, `PT1H2M3.5S`, `1h2m`), "result.duration"},
		{"RejectsResultThatIsNotAnObject", edit(t, `"result":{"score":{"scaled":0.5,"raw":5},"success":false,"completion":true,"duration":"PT1H2M3.5S"}`, `"result":true`), "result"},
		{"RejectsMissingTimestampWithoutStored", edit(t, `,"timestamp":"2024-01-10T18:00:00+01:00"`, ""), "timestamp"},
		{"RejectsBadTimestamp", edit(t, `2024-01-10T18:00:00+01:00`, `10/01/2024`), "timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := goodStatement + "\n\n" + tc.line + "\n"
			_, err := ReadStatementsAll(strings.NewReader(body), UsageFile)
			wantRowError(t, err, UsageFile, 3, tc.field)
		})
	}
}

func TestReadStatementsRejectsFileLevelProblems(t *testing.T) {
	t.Run("RejectsDuplicateID", func(t *testing.T) {
		_, err := ReadStatementsAll(strings.NewReader(goodStatement+"\n"+goodStatement+"\n"), UsageFile)
		wantRowError(t, err, UsageFile, 2, "id")
	})
	t.Run("RejectsALineOverTheLimit", func(t *testing.T) {
		long := edit(t, `"raw":5`, `"raw":5,"extensions":{"x":"`+strings.Repeat("a", 70<<10)+`"}`)
		_, err := ReadStatementsAll(strings.NewReader(goodStatement+"\n"+long+"\n"), UsageFile)
		wantRowError(t, err, UsageFile, 2, "")
	})
	t.Run("RejectsStatementsBeyondMaxRows", func(t *testing.T) {
		second := edit(t, `0d7a3c9e`, `1d7a3c9e`)
		err := Limits{MaxRows: 1}.ReadStatements(strings.NewReader(goodStatement+"\n"+second+"\n"), UsageFile, func(Statement) error { return nil })
		wantRowError(t, err, UsageFile, 2, "")
	})
}

func TestReadStatementsKeepsUnknownVerbsAndVoiding(t *testing.T) {
	other := edit(t, `http://adlnet.gov/expapi/verbs/answered`, `https://w3id.org/xapi/video/verbs/paused`)
	voiding := `{"id":"9d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":{"account":{"homePage":"https://ent.example.fr","name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":"0D7A3C9E-8F5B-4C1E-9A2B-3C4D5E6F7A8B"},"timestamp":"2024-01-11T00:00:00Z"}`
	sts, err := ReadStatementsAll(strings.NewReader(other+"\n"+voiding+"\n"), UsageFile)
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].Verb != "https://w3id.org/xapi/video/verbs/paused" {
		t.Fatalf("unknown verb not kept: %q", sts[0].Verb)
	}
	if sts[1].Verb != VerbVoided || sts[1].ObjectID != "0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b" {
		t.Fatalf("voiding statement %+v, want object id the lower-cased voided id", sts[1])
	}
}

func TestParseStatementsJSONNamesTheJSONPointer(t *testing.T) {
	second := edit(t, `0d7a3c9e`, `1d7a3c9e`)
	tests := []struct {
		name  string
		body  string
		n     int
		line  int
		field string
	}{
		{"ReadsOneObject", goodStatement, 1, 0, ""},
		{"ReadsAnArray", "[" + goodStatement + "," + second + "]", 2, 0, ""},
		{"RejectsBadFieldOfSingleStatement", edit(t, `"name":"S1"`, `"name":7`), 0, 1, "/actor/account/name"},
		{"RejectsBadMailboxTypeOfAgentObject", edit(t, `"object":{"objectType":"Activity","id":"R1"}`, `"object":{"objectType":"Agent","mbox":7}`), 0, 1, "/object/mbox"},
		{"RejectsBadFieldOfSecondElement", "[" + goodStatement + "," + strings.Replace(second, `"scaled":0.5`, `"scaled":-2`, 1) + "]", 0, 2, "/1/result/score/scaled"},
		{"RejectsDuplicateIDsInABatch", "[" + goodStatement + "," + goodStatement + "]", 0, 2, "/1/id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sts, err := ParseStatementsJSON([]byte(tc.body), time.Time{})
			if tc.line == 0 {
				if err != nil || len(sts) != tc.n {
					t.Fatalf("got %d statements, err %v; want %d", len(sts), err, tc.n)
				}
				return
			}
			wantRowError(t, err, StatementsSource, tc.line, tc.field)
		})
	}
	t.Run("EscapesSlashInPointer", func(t *testing.T) {
		if got := pointer("", []string{"a/b", "c~d"}); got != "/a~1b/c~0d" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestISODurationParsesAndFormats(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT1H2M3.5S", time.Hour + 2*time.Minute + 3500*time.Millisecond, true},
		{"PT0S", 0, true},
		{"PT45S", 45 * time.Second, true},
		{"PT0.01S", 10 * time.Millisecond, true},
		{"PT1,5S", 1500 * time.Millisecond, true},
		{"PT1.5M", 90 * time.Second, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"P2W", 14 * 24 * time.Hour, true},
		{"PT0.0000000019S", 1, true},
		{"P1Y", 0, false},
		{"P1M", 0, false},
		{"PT", 0, false},
		{"P", 0, false},
		{"1H", 0, false},
		{"PT1H1H", 0, false},
		{"PT1M1H", 0, false},
		{"PT1.5H2M", 0, false},
		{"P1H", 0, false},
		{"PT1D", 0, false},
		{"P1WT1H", 0, false},
		{"PT-1S", 0, false},
		{"PT.5S", 0, false},
		{"PT5.S", 0, false},
		{"P1DT", 0, false},
		{"PT99999999999999999999H", 0, false},
		{"P367D", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseISODuration(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseISODuration(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && got != tc.want {
				t.Fatalf("ParseISODuration(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	for _, d := range []time.Duration{0, 1, time.Second, 90 * time.Minute, 365*24*time.Hour + 1, 3*time.Hour + 7*time.Millisecond} {
		s, err := FormatISODuration(d)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseISODuration(s)
		if err != nil || back != d {
			t.Errorf("%v -> %q -> %v, %v; want the same duration", d, s, back, err)
		}
	}
	if _, err := FormatISODuration(-time.Second); err == nil {
		t.Error("negative duration formatted")
	}
}
