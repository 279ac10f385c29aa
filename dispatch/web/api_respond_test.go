package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"despacho/dispatch/web"
)

// TestWriteJSONUnencodable: an answer JSON cannot carry (a time in year 10000, which
// RFC 3339 cannot write) is a 500 in the contract's error shape; it was the status the
// handler meant (200) with an empty body, which a client takes for success.
func TestWriteJSONUnencodable(t *testing.T) {
	rec := httptest.NewRecorder()
	web.WriteJSON(rec, 200, map[string]any{"slots": []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if rec.Code != 500 {
		t.Fatalf("status = %d %q, want 500", rec.Code, rec.Body.String())
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "internal" {
		t.Errorf("body = %q (%v), want the contract's error with code internal", rec.Body.String(), err)
	}

	rec = httptest.NewRecorder()
	web.WriteJSON(rec, 201, map[string]string{"folio": "R-2026-000001", "q": "<&>"})
	if rec.Code != 201 || rec.Body.String() != `{"folio":"R-2026-000001","q":"<&>"}`+"\n" {
		t.Errorf("answer = %d %q, want 201 with the value, HTML left unescaped", rec.Code, rec.Body.String())
	}
}
