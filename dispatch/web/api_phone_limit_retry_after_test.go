package web_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestPhoneReportLimitSaysWhenToRetry: the public form's bound of reports per phone number
// answered 429 phone_report_limit without Retry-After, the one 429 of the API that did
// not say when to try again. It now carries the bound's wait, in whole seconds, at most
// the hour the bound counts.
func TestPhoneReportLimitSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	ts, _, _ := newServer(t)
	for i := range 6 {
		body := fmt.Sprintf(`{"customer":{"name":"Marta Ríos","phone":"33 2222 4455"},"address":{"line":"Calle 8"},"kind":"fault","description":"Falla %d"}`, i)
		res, b := do(t, "POST", ts.URL+"/public/reports", "", body)
		if i < 5 {
			if res.StatusCode != 201 {
				t.Fatalf("report %d = %d %s, want 201", i+1, res.StatusCode, b)
			}
			continue
		}
		code, field := errorCode(t, b)
		if res.StatusCode != 429 || code != "phone_report_limit" || field != "customer.phone" {
			t.Fatalf("sixth report = %d %s, want 429 phone_report_limit on customer.phone", res.StatusCode, b)
		}
		ra := res.Header.Get("Retry-After")
		if secs, err := strconv.Atoi(ra); err != nil || secs < 1 || time.Duration(secs)*time.Second > time.Hour+time.Second {
			t.Errorf("sixth report's Retry-After = %q, want whole seconds within the hour", ra)
		}
	}
}
