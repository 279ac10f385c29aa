package web_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/dispatch/web"
)

// TestWriteErrorClientGone: an error after the client went away is a 499 logged at info
// level, not a 500 with an error in the log; the same error on a live request is a 500.
func TestWriteErrorClientGone(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	web.WriteError(rec, httptest.NewRequest("POST", "/api/tickets", nil).WithContext(ctx), log, context.Canceled)
	if rec.Code != web.StatusClientClosed || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("client gone: %d, log %q; want 499 and no error logged", rec.Code, logs.String())
	}
	logs.Reset()
	rec = httptest.NewRecorder()
	web.WriteError(rec, httptest.NewRequest("POST", "/api/tickets", nil), log, errors.New("boom"))
	if rec.Code != 500 || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("live request: %d, log %q; want 500 and the error logged", rec.Code, logs.String())
	}
}
