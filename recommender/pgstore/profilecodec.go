package pgstore

import (
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/pgvector/pgvector-go"

	"github.com/parcours-ent/parcours/features"
)

// Stored profiles are CBOR (RFC 8949) in profiles.body: the same fields and names as the
// JSON form (the codec reads the json tags), so a field added to features.Profile is
// stored without a change here and rows written before it read with its zero value, as
// JSON would; but numbers are binary (no float printing and parsing), which is what made
// the JSON form cost most of an online update (BenchmarkProfileCodec). Times keep their
// RFC 3339 form with the offset, as in JSON. Rows written before migration 020200 hold
// JSON in profiles.data and are read from it.
var (
	profileEnc cbor.EncMode
	profileDec cbor.DecMode
)

func init() {
	var err error
	// ShortestFloat is exact: a float64 is written as float16 or float32 only when that
	// holds the same value.
	if profileEnc, err = (cbor.EncOptions{Time: cbor.TimeRFC3339Nano, ShortestFloat: cbor.ShortestFloat16}).EncMode(); err != nil {
		panic(err)
	}
	if profileDec, err = (cbor.DecOptions{MaxArrayElements: 1 << 24, MaxMapPairs: 1 << 24}).DecMode(); err != nil {
		panic(err)
	}
}

// profileColumns are the stored profile's columns, in the order decodeProfile takes them.
const profileColumns = `data, body, embedding`

// decodeProfile reads a stored profile: body (CBOR) when set, else data (JSON, rows
// written before migration 020200).
func decodeProfile(id string, data, body []byte, emb *pgvector.Vector) (features.Profile, error) {
	var p features.Profile
	var err error
	if body != nil {
		err = profileDec.Unmarshal(body, &p)
	} else {
		err = json.Unmarshal(data, &p)
	}
	if err != nil {
		return p, fmt.Errorf("profile %q: %w", id, err)
	}
	if emb != nil {
		p.Vector = emb.Slice()
	}
	return p, nil
}

// profileArgs encodes p for the body and embedding columns.
func profileArgs(p *features.Profile) ([]byte, *pgvector.Vector, error) {
	body, err := profileEnc.Marshal(p)
	if err != nil {
		return nil, nil, fmt.Errorf("profile %q: %w", p.StudentID, err)
	}
	var emb *pgvector.Vector
	if p.Vector != nil {
		v := pgvector.NewVector(p.Vector)
		emb = &v
	}
	return body, emb, nil
}
