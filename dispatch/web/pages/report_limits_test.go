package pages_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserReportFormLimitsMatchServer: the report form lets a customer type as much as
// the server files, so a long address or description is never refused with a message that
// only says to fill the field in. Each text field is filled to its maxlength by typing
// (the browser stops at it) and the form is sent: the report is filed.
func TestBrowserReportFormLimitsMatchServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := tab(t, true)
	do(t, ctx, chromedp.Navigate(e.URL+"/reporte"))
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.fromEntries(['name','address','description'].map((id) => [id, document.getElementById(id).maxLength])))`))
	if err != nil {
		t.Fatal(err)
	}
	var max map[string]int
	if err := json.Unmarshal([]byte(raw), &max); err != nil {
		t.Fatal(err)
	}
	for id, n := range max {
		if n <= 0 {
			t.Fatalf("#%s has no maxlength", id)
		}
	}
	fill := func(n int) string { return strings.Repeat("x", n-1) + "y" }
	do(t, ctx,
		sendKeys(chromedp.ID("name"), fill(max["name"]+5)),
		sendKeys(chromedp.ID("phone"), "55 1357 2468"),
		sendKeys(chromedp.ID("address"), fill(max["address"]+5)),
		chromedp.SetValue(chromedp.ID("kind"), "fault"),
		// Typing 10 000 characters key by key is slow: the value is set, as a paste would.
		chromedp.SetValue(chromedp.ID("description"), fill(max["description"])),
		chromedp.Click(chromedp.CSS(`#report button[type=submit]`)),
	)
	pollTrue(t, ctx, `!document.getElementById('done').hidden || !!document.querySelector('#report .field-error, #report .form-error:not([hidden])')`)
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('done').hidden ? Array.from(document.querySelectorAll('#report .field-error, #report .form-error')).map((e) => e.id + ': ' + e.textContent).join('; ') : 'filed'`)); shown != "filed" {
		t.Fatalf("fields filled to their maxlength %v: %s, want the report filed", max, shown)
	}
}
