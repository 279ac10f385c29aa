package postgres

import (
	"runtime"
	"sync"
)

// batcher is the application-level group commit (and group read) of the hot paths: callers
// queue items and at most leaders goroutines ("leaders") each take what is queued and run
// it as one batch, a few statements for many callers. Under load a batch thus carries many
// items in a handful of round trips; alone, an item is a batch of one and waits for
// nothing but a goroutine hand-off. Each item signals its own completion.
type batcher[T any] struct {
	leaders int // at most this many batches at once
	max     int // items per batch
	// compatible, when set, tells whether item may join a batch that already holds the
	// items whose keys are in seen (it adds its own); an item refused stays queued for a
	// later batch.
	compatible func(item T, seen map[string]bool) bool
	run        func(batch []T)

	mu      sync.Mutex
	queue   []T
	running int
	largest int // the most items one batch has carried (tests look)
}

// defaultLeaders is one leader per core, at least two, so that one batch's commit overlaps
// the next one's statements. More leaders make smaller batches: on two cores `bench
// tickets` measured 2.1 ms of CPU per report with two, 2.6 ms with four and 3.2–3.9 ms
// with eight.
func defaultLeaders() int { return max(2, runtime.GOMAXPROCS(0)) }

// submit queues item, starting a leader when fewer than leaders run.
func (b *batcher[T]) submit(item T) {
	b.mu.Lock()
	b.queue = append(b.queue, item)
	lead := b.running < b.leaders
	if lead {
		b.running++
	}
	b.mu.Unlock()
	if lead {
		go b.lead()
	}
}

// lead runs batches until the queue is empty.
func (b *batcher[T]) lead() {
	for {
		b.mu.Lock()
		batch := b.take()
		if len(batch) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.run(batch)
	}
}

// take removes the next batch from the queue: items in arrival order, skipping (and
// leaving queued) those not compatible with the ones taken. b.mu is held.
func (b *batcher[T]) take() []T {
	var batch []T
	var seen map[string]bool
	if b.compatible != nil {
		seen = map[string]bool{}
	}
	rest := b.queue[:0]
	for _, item := range b.queue {
		if len(batch) == b.max || (b.compatible != nil && !b.compatible(item, seen)) {
			rest = append(rest, item)
			continue
		}
		batch = append(batch, item)
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	b.largest = max(b.largest, len(batch))
	return batch
}

// biggest is the most items one batch has carried.
func (b *batcher[T]) biggest() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.largest
}
