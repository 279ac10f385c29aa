package notify_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestOpenAPIFragment checks the fragment the web package merges (copied to
// dispatch/web/openapi/notify.json) documents exactly the routes notify serves.
func TestOpenAPIFragment(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	// The web package embeds its own copy (go:embed cannot reach across packages).
	if c, err := os.ReadFile("../dispatch/web/openapi/notify.json"); err != nil || !bytes.Equal(b, c) {
		t.Errorf("dispatch/web/openapi/notify.json differs from notify/openapi.json (%v): copy it over", err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"post /twilio/status": true, "post /twilio/inbound": true, "get /dev/sms": true,
		"get /api/sms/templates": true, "get /api/sms/templates/{kind}/{lang}": true, "put /api/sms/templates/{kind}/{lang}": true,
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !want[m+" "+path] {
				t.Errorf("documented %s %s; not a notify route", m, path)
			}
			delete(want, m+" "+path)
		}
	}
	for k := range want {
		t.Errorf("%s not documented", k)
	}
}
