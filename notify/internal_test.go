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
