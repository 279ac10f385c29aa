package web

import (
	"context"
	"runtime"
	"sync/atomic"
)

// passwordGate bounds the password checks that run at once. One argon2id check holds
// 19 MiB for about 20 ms of a core, so checks beyond the cores only add memory: 400
// sign-ins sent together (all of them pass the lockout check, since none has failed
// yet) took the server from 55 MiB to 2.3 GiB. A sign-in waits for a slot; beyond
// maxWaiting waiting it is refused at once (429), so a flood costs a bounded queue of
// small requests rather than memory.
type passwordGate struct {
	slots      chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
}

// newPasswordGate allows one check per core (at least two) and maxWaiting in line.
func newPasswordGate(maxWaiting int64) *passwordGate {
	return &passwordGate{slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))), maxWaiting: maxWaiting}
}

// enter waits for a slot; the caller must leave once done. It fails with 429 when the
// line is full, or with ctx's error when the client goes away first.
func (g *passwordGate) enter(ctx context.Context) error {
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return rateLimited(0)
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave frees the slot enter took.
func (g *passwordGate) leave() { <-g.slots }
