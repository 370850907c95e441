package payments_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"affiliated/internal/payments"
)

// testdata reads a file under testdata/.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit applies old→new replacements to a payload, failing if an old
// string is absent, so that a test cannot silently stop testing what it
// says when its testdata changes.
func edit(t testing.TB, body []byte, pairs ...string) []byte {
	t.Helper()
	s := string(body)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("edit: %q not in payload", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return []byte(s)
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// parseCase is one row of a parser table test: the body, and either the
// whole Event expected or the error it must match with errors.Is.
type parseCase struct {
	name string
	body []byte
	want payments.Event
	err  error
}

func runParseCases(t *testing.T, parse func([]byte) (payments.Event, error), cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.body)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error = %v, want %v (event %+v)", err, tc.err, got)
				}
				if errors.Is(err, payments.ErrIgnored) == errors.Is(err, payments.ErrMalformed) {
					t.Fatalf("error %v must be exactly one of ErrIgnored, ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			diffEvents(t, got, tc.want)
		})
	}
}

// diffEvents reports each field that differs, which reads better than
// two %+v dumps of a 30-field struct.
func diffEvents(t *testing.T, got, want payments.Event) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", gv.Type().Field(i).Name, g, w)
		}
	}
}

// malformedField asserts err is a *MalformedError naming field.
func malformedField(t *testing.T, err error, field string) {
	t.Helper()
	var me *payments.MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("error %v is not a *MalformedError", err)
	}
	if me.Field != field {
		t.Errorf("MalformedError.Field = %q, want %q (%v)", me.Field, field, err)
	}
}
