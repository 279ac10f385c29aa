package sla

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestDocumentRoundTrip: the default policies survive being written and read back.
func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	want := DefaultPolicies()
	b, err := json.Marshal(want.Document())
	if err != nil {
		t.Fatal(err)
	}
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	got, err := d.Policies()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		for _, p := range Priorities {
			if g, w := got.Lookup(k, p), want.Lookup(k, p); g != w {
				t.Errorf("Lookup(%s, %s) = %+v, want %+v", k, p, g, w)
			}
		}
	}
}

// TestDocumentErrors: each bad value is named by its JSON path.
func TestDocumentErrors(t *testing.T) {
	t.Parallel()
	for body, field := range map[string]string{
		`{"rules":[]}`: "default",
		`{"default":{"first_response":{"basis":"weekly","minutes":5},"resolution":null},"rules":[]}`:                                                                 "default.first_response.basis",
		`{"default":{"first_response":{"basis":"wall_clock"},"resolution":null},"rules":[]}`:                                                                         "default.first_response.minutes",
		`{"default":{"first_response":null,"resolution":{"basis":"business_days","days":0}}}`:                                                                        "default.resolution.days",
		`{"default":{"first_response":null,"resolution":{"basis":"business_days","minutes":60}}}`:                                                                    "default.resolution.minutes",
		`{"default":{"first_response":null,"resolution":null},"rules":[{"kind":"fault","first_response":null,"resolution":null},{"kind":"fault","priority":"now"}]}`: "rules[1].priority",
		`{"default":{"first_response":null,"resolution":null},"rules":[{"kind":"fault"},{"kind":"fault"}]}`:                                                          "rules[1]",
		`{"default":{"first_response":null,"resolution":null},"rules":[{"first_response":null}]}`:                                                                    "rules[0].kind",
		`{"default":{"first_response":null,"resolution":null},"rules":[{"kind":"inquiry","resolution":{"basis":"business_time","minutes":-5}}]}`:                     "rules[0].resolution.minutes",
	} {
		var d Document
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		_, err := d.Policies()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: error %v; want one on %s", body, err, field)
		}
	}
}

// TestDocumentConsistent: an admin's document may not give a policy a resolution target
// shorter than its first-response target on the same basis (the error names that
// resolution); on different bases, or equal, or either absent, it passes — and Policies,
// which reads stored documents too, does not refuse it.
func TestDocumentConsistent(t *testing.T) {
	for body, field := range map[string]string{
		`{"default":{"first_response":{"basis":"wall_clock","minutes":60},"resolution":{"basis":"wall_clock","minutes":30}}}`:                                                                  "default.resolution",
		`{"default":{"first_response":null,"resolution":null},"rules":[{"kind":"fault","first_response":{"basis":"business_days","days":3},"resolution":{"basis":"business_days","days":2}}]}`: "rules[0].resolution",
		`{"default":{"first_response":{"basis":"wall_clock","minutes":60},"resolution":{"basis":"business_time","minutes":30}}}`:                                                               "",
		`{"default":{"first_response":{"basis":"business_time","minutes":60},"resolution":{"basis":"business_time","minutes":60}}}`:                                                            "",
		`{"default":{"first_response":null,"resolution":{"basis":"wall_clock","minutes":5}}}`:                                                                                                  "",
	} {
		var d Document
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Policies(); err != nil {
			t.Errorf("%s: Policies refused it: %v", body, err)
		}
		err := d.Consistent()
		var fe *FieldError
		switch {
		case field == "" && err != nil:
			t.Errorf("%s: %v; want it accepted", body, err)
		case field != "" && (!errors.As(err, &fe) || fe.Field != field):
			t.Errorf("%s: error %v; want one on %s", body, err, field)
		}
	}
	if err := DefaultPolicies().Document().Consistent(); err != nil {
		t.Errorf("the default policies: %v", err)
	}
}
