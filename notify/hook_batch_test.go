package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestFolioTextsOfBatchedReports files many reports at once, so that they are created in
// shared transactions and HookBatch queues their texts together: each report gets exactly
// one folio text, to its own customer, in the customer's language and naming its own
// folio; a texted report and an opted-out customer get none.
func TestFolioTextsOfBatchedReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	ctx := context.Background()
	reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
	optedOut := phone()
	customer(t, e.db, optedOut, "es", true)
	const n = 60
	type want struct {
		phone, lang, channel string
		folio                string
	}
	wants := make([]want, n)
	var calls []func()
	for i := range n {
		w := want{phone: phone(), lang: "es", channel: "phone"}
		switch {
		case i%5 == 1:
			w.lang = "en"
		case i%5 == 2:
			w.channel = "sms"
		case i == 3:
			w.phone = optedOut
		}
		wants[i] = w
		in := dispatch.ReportInput{Channel: w.channel, Kind: "fault", Description: "Sin servicio",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: w.phone, Language: w.lang}}
		nr, err := in.Validate(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, func() {
			c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			wants[i].folio = c.Report.Folio
		})
	}
	dispatchtest.AllAtOnce(calls)
	if t.Failed() {
		t.FailNow()
	}
	texts := map[string][]outboxRow{}
	for _, r := range outbox(t, e.db) {
		texts[r.To] = append(texts[r.To], r)
	}
	for i, w := range wants {
		got := texts[w.phone]
		if w.channel == "sms" || w.phone == optedOut {
			if len(got) != 0 {
				t.Errorf("report %d (%s, opted out %v): texts %+v, want none", i, w.channel, w.phone == optedOut, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Kind != "folio" || !strings.Contains(got[0].Body, "Folio: "+w.folio+".") {
			t.Errorf("report %d: texts %+v, want one folio text naming %s", i, got, w.folio)
			continue
		}
		greeting := map[string]string{"es": "Recibimos su reporte", "en": "We received your"}[w.lang]
		if !strings.HasPrefix(got[0].Body, greeting) {
			t.Errorf("report %d: text %q, want it in %s", i, got[0].Body, w.lang)
		}
	}
}
