package notify

import (
	"testing"
	"time"
)

func TestSameBody(t *testing.T) {
	t.Parallel()
	if !sameBody("Su visita: sabado 30 nov. ", "Su visita: sábado 30 nov.") {
		t.Error("a smart-encoded body does not match ours")
	}
	if sameBody("Folio 1", "Folio 2") {
		t.Error("different bodies match")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	w := NewWorker(nil, Dev{}, WorkerOptions{BackoffBase: time.Second, BackoffMax: time.Minute})
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 30: time.Minute} {
		for range 20 {
			if d := w.backoff(n); d < want/2 || d > want {
				t.Errorf("backoff(%d) = %s; want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestStatusRank(t *testing.T) {
	t.Parallel()
	order := []string{"accepted", "queued", "sending", "sent", "delivered"}
	for i := 1; i < len(order); i++ {
		if statusRank(order[i-1]) >= statusRank(order[i]) {
			t.Errorf("rank(%s) >= rank(%s); want increasing", order[i-1], order[i])
		}
	}
	if statusRank("failed") != statusRank("delivered") || statusRank("bogus") != 0 {
		t.Error("final statuses must share a rank and unknown ones rank 0")
	}
}

// TestStoredTemplateThatLacksItsPurpose: a booked text of "Hola" saved before templates had
// to show their window went on being sent as "Hola" to every customer booked. An override
// that leaves out what its text is for is not used: the default goes in its place, in the
// hook's rendering and in RenderKind's, and the admin page says so (Template.Lacks).
func TestStoredTemplateThatLacksItsPurpose(t *testing.T) {
	t.Parallel()
	data := Data{Folio: "R-2026-000007", StatusURL: "https://x.mx/estado", Window: "lun 30 nov, 10:00-12:00", Date: "lun 30 nov", Technician: "Juan"}
	rc := recipient{Templates: map[Kind]string{KindBooked: "Hola", KindFolio: "Su folio: {{.Folio}} {{.StatusURL}}"}}
	got, err := rc.render(KindBooked, "es", data)
	want, _ := Render(string(KindBooked), DefaultTemplate(KindBooked, "es"), data)
	if err != nil || got != want {
		t.Errorf("booked with a stored \"Hola\" = %q, %v; want the default %q", got, err, want)
	}
	if got, err := rc.render(KindFolio, "es", data); err != nil || got != "Su folio: R-2026-000007 https://x.mx/estado" {
		t.Errorf("folio with a stored template that shows it = %q, %v; want the admin's", got, err)
	}
	if got := Lacks(KindBooked, "Hola"); got != "Window" {
		t.Errorf("Lacks(booked, Hola) = %q; want Window", got)
	}
	s := NewTemplates(nil, time.UTC)
	tp := s.describe(KindBooked, "es", templateRow{Kind: string(KindBooked), Language: "es", Body: "Hola"})
	if !tp.Custom || tp.Lacks != "Window" || tp.Sample == "Hola" {
		t.Errorf("the admin's view of a stored \"Hola\" = %+v; want custom, lacking Window, the sample of what is sent", tp)
	}
}
