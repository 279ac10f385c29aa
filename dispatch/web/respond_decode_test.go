package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestDecodeJSONNamesSelfDecodedFields: a value that decodes itself (a time, an amount)
// and refuses what was sent is a 422 naming its field by its JSON path — through nested
// objects, arrays, maps, embedded structs and keys written in another case, as
// encoding/json matches them — not a 400 quoting Go's time layout without a field.
func TestDecodeJSONNamesSelfDecodedFields(t *testing.T) {
	type span struct {
		Start time.Time  `json:"start"`
		End   *time.Time `json:"end"`
	}
	type Embedded struct {
		When time.Time `json:"when"`
	}
	type doc struct {
		Embedded
		Spans []span               `json:"spans"`
		ByDay map[string]span      `json:"by_day"`
		Price *dispatch.Centavos   `json:"price"`
		Fees  []dispatch.Centavos  `json:"fees"`
		Name  string               `json:"name"`
		Extra map[string]time.Time `json:"extra"`
	}
	ok := `"2026-11-30T10:00:00-06:00"`
	cases := []struct{ body, field, says string }{
		{`{"spans":[{"start":` + ok + `},{"start":"mañana"}]}`, "spans[1].start", "RFC 3339"},
		{`{"spans":[{"start":` + ok + `,"end":12}]}`, "spans[0].end", "RFC 3339"},
		{`{"by_day":{"lunes":{"start":"10:00"}}}`, "by_day.lunes.start", "RFC 3339"},
		{`{"when":"ayer"}`, "when", "RFC 3339"},
		{`{"WHEN":"ayer"}`, "WHEN", "RFC 3339"},
		{`{"price":"-5"}`, "price", "negative"},
		{`{"fees":["10",12.345]}`, "fees[1]", ""},
		{`{"extra":{"b":` + ok + `,"a":"x"}}`, "extra.a", "RFC 3339"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		var v doc
		err := DecodeJSON(r, &v)
		de, isDE := err.(*dispatch.Error)
		if !isDE || de.Kind != dispatch.KindInvalid || de.Field != c.field || !strings.Contains(de.Message, c.says) || strings.Contains(de.Message, "2006-01-02") {
			t.Errorf("%s: %#v, want invalid %s saying %q", c.body, err, c.field, c.says)
		}
	}
	// Good values still decode, and null is no value.
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"spans":[{"start":`+ok+`,"end":null}],"price":"349.50","name":"x"}`))
	var v doc
	if err := DecodeJSON(r, &v); err != nil || len(v.Spans) != 1 || v.Spans[0].End != nil || v.Price == nil || *v.Price != 34950 {
		t.Fatalf("good document: %v %+v", err, v)
	}
}
