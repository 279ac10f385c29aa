package live

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"despacho/dispatch/postgres"
)

// listen keeps a LISTEN connection open and wakes the pump on every notification. When the
// connection fails (PostgreSQL restarts, the network drops) it opens a new one, listens
// again and wakes the pump to catch up from the tables: what was announced meanwhile is lost,
// but never needed, since the pump reads the log by cursor.
func (h *Hub) listen(ctx context.Context) {
	defer h.setListening(false)
	backoff := newBackoff()
	connected := false
	for ctx.Err() == nil {
		ln := pgdriver.NewListener(h.db)
		stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
		err := ln.Listen(ctx, postgres.EventsChannel, SeqChannel, pingChannel)
		if err == nil {
			if connected {
				h.m.reconnects.Inc()
			}
			connected = true
			h.setListening(true)
			backoff.reset()
			// Anything committed while we were not listening is in the tables.
			h.poke(true, true)
			err = h.receive(ctx, ln)
			h.setListening(false)
		}
		stop()
		_ = ln.Close()
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("live: listener lost PostgreSQL; reconnecting", "err", err)
		if !backoff.wait(ctx) {
			return
		}
	}
}

// receive handles notifications until the connection fails. When nothing arrives for
// ListenerPing it notifies itself; hearing nothing for two periods means the connection is
// dead even though no error surfaced.
func (h *Hub) receive(ctx context.Context, ln *pgdriver.Listener) error {
	period := h.opts.ListenerPing
	heard := time.Now()
	pinged := false
	for {
		channel, _, err := ln.ReceiveTimeout(ctx, period)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if time.Since(heard) > 2*period {
				return errors.New("listener heard nothing, not even its own ping")
			}
			if !pinged {
				pinged = true
				pctx, cancel := context.WithTimeout(ctx, period)
				_, _ = h.db.ExecContext(pctx, "SELECT pg_notify(?, '')", pingChannel)
				cancel()
			}
			continue
		}
		heard, pinged = time.Now(), false
		switch channel {
		case postgres.EventsChannel:
			h.poke(true, false)
		case SeqChannel:
			h.poke(false, true)
		case pingChannel:
			// Listen only sends LISTEN: an event committed before the server ran it
			// (right after a reconnect) announced nothing. Its own ping, heard after
			// a quiet period, proves the listener is live, so catch up then.
			h.poke(true, true)
		}
	}
}

func (h *Hub) setListening(ok bool) {
	h.listening.Store(ok)
	if ok {
		h.m.ready.Set(1)
	} else {
		h.m.ready.Set(0)
	}
}
