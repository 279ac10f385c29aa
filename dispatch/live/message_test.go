package live_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/live"
)

// FuzzClientMessage: whatever a client sends, the parser answers a valid message or a
// dispatch error (which becomes an "error" message), never panics, and what it accepts
// survives a round trip.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"subscribe":{}}`,
		`{"subscribe":{"technician_ids":[1,2,3]}}`,
		`{"subscribe":{"report_ids":[9],"types":["visit.","report.created"]}}`,
		`{"subscribe":{"technician_ids":[-1]}}`,
		`{"subscribe":{"technician_ids":[1e400]}}`,
		`{"subscribe":{"types":["Visit"]}}`,
		`{"subscribe":null}`,
		`{"subscribe":{}} {}`,
		`{"hello":1}`,
		`[]`, `null`, `""`, `{`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := live.ParseClientMessage(b)
		if err != nil {
			if dispatch.ErrorKind(err) == "" {
				t.Fatalf("ParseClientMessage(%q) = %v, not a dispatch error", b, err)
			}
			return
		}
		if m.Subscribe == nil {
			t.Fatalf("ParseClientMessage(%q) accepted a message with nothing in it", b)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := live.ParseClientMessage(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip of %q: %s → %+v, %v; want %+v", b, again, m2, err, m)
		}
	})
}

func TestParseClientMessage(t *testing.T) {
	tests := []struct {
		in    string
		field string // "" for success; "-" for malformed
	}{
		{`{"subscribe":{"technician_ids":[4]}}`, ""},
		{`{"subscribe":{}}`, ""},
		{`{"subscribe":{"types":["visit."]}}`, ""},
		{`not json`, "-"},
		{`{"subscribe":{"technician_ids":[0]}}`, "subscribe.technician_ids"},
		{`{"subscribe":{"report_ids":[-3]}}`, "subscribe.report_ids"},
		{`{"subscribe":{"report_ids":["3"]}}`, "subscribe.report_ids"},
		{`{"subscribe":{"types":[""]}}`, "subscribe.types"},
		{`{"subscribe":{"colour":"red"}}`, "-"},
		{`{"unsubscribe":{}}`, "-"},
	}
	for _, tc := range tests {
		_, err := live.ParseClientMessage([]byte(tc.in))
		var de *dispatch.Error
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("ParseClientMessage(%s) = %v, want ok", tc.in, err)
		case tc.field == "-" && dispatch.ErrorKind(err) != dispatch.KindMalformed:
			t.Errorf("ParseClientMessage(%s) = %v, want malformed", tc.in, err)
		case tc.field != "" && tc.field != "-":
			if !asError(err, &de) || de.Field != tc.field {
				t.Errorf("ParseClientMessage(%s) = %v, want invalid %s", tc.in, err, tc.field)
			}
		}
	}
}

func asError(err error, de **dispatch.Error) bool {
	e, ok := err.(*dispatch.Error)
	*de = e
	return ok
}
