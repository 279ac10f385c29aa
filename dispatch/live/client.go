package live

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"despacho/dispatch"
)

// ServeWS is GET /ws for signed-in users, mounted behind the route guard with QueryToken
// access, so that Options.UserOf finds the caller. `after=ID` first replays, from the log,
// every event the caller may see with an id above ID, then continues live with no gap and
// no duplicate; without it the stream starts from when the request came (an event fanned
// out while the handshake is answered is sent too). Admins, dispatchers and agents see every
// event (and may narrow it with a subscribe message); a technician sees the events that
// name his technician record.
func (h *Hub) ServeWS(w http.ResponseWriter, r *http.Request) {
	var u *dispatch.User
	if h.opts.UserOf != nil {
		u = h.opts.UserOf(r)
	}
	if u == nil {
		h.opts.WriteError(w, r, dispatch.Unauthenticated("sign in first"))
		return
	}
	after, err := parseAfter(r)
	if err != nil {
		h.opts.WriteError(w, r, err)
		return
	}
	v, err := h.viewerOf(r.Context(), u)
	if err != nil {
		h.opts.WriteError(w, r, err)
		return
	}
	h.serve(w, r, v, after)
}

// viewerOf is what user u may see: staff everything, a technician the events naming the
// technician record linked to his account. A technician linked to none, or a role without
// live updates, is Forbidden.
func (h *Hub) viewerOf(ctx context.Context, u *dispatch.User) (viewer, error) {
	switch u.Role {
	case dispatch.RoleAdmin, dispatch.RoleDispatcher, dispatch.RoleAgent:
		return viewer{staff: true, userID: u.ID}, nil
	case dispatch.RoleTechnician:
		if h.opts.TechnicianOf == nil {
			return viewer{}, dispatch.Forbidden("live updates for technicians are not available")
		}
		id, err := h.opts.TechnicianOf(ctx, u.ID)
		if dispatch.ErrorKind(err) == dispatch.KindNotFound || (err == nil && id == 0) {
			return viewer{}, dispatch.Forbidden("this user is not linked to a technician")
		}
		if err != nil {
			return viewer{}, err
		}
		return viewer{technicianID: id, userID: u.ID}, nil
	}
	return viewer{}, dispatch.Forbidden("role %s may not receive live updates", u.Role)
}

// ServePublic is the customer's status page feed, for a public route such as
// GET /public/reports/{folio}/live?code=C: the folio (path value "folio", or the query
// parameter) and its access code choose one report, and only that report's report and visit
// events reach the page, with a reduced set of data keys. A wrong code is 404. `after`
// works as in ServeWS.
func (h *Hub) ServePublic(w http.ResponseWriter, r *http.Request) {
	folio := r.PathValue("folio")
	if folio == "" {
		folio = r.URL.Query().Get("folio")
	}
	code := r.URL.Query().Get("code")
	if h.opts.FolioAccess == nil || folio == "" || code == "" || len(folio) > 64 || len(code) > 64 {
		h.opts.WriteError(w, r, dispatch.NotFound("folio"))
		return
	}
	after, err := parseAfter(r)
	if err != nil {
		h.opts.WriteError(w, r, err)
		return
	}
	reportID, err := h.opts.FolioAccess(r.Context(), folio, code)
	if err == nil && reportID == 0 {
		err = dispatch.NotFound("folio")
	}
	if err != nil {
		h.opts.WriteError(w, r, err)
		return
	}
	h.serve(w, r, viewer{reportID: reportID}, after)
}

// parseAfter reads the `after` query parameter: -1 when absent (start where the pump is
// when the request comes).
func parseAfter(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("after")
	if s == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		// An invalid value of a field, 422 like every other query value the API refuses.
		return 0, dispatch.Invalid("after", "must be the id of the last message received (a non-negative integer)")
	}
	return n, nil
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request, v viewer, after int64) {
	if !websocket.IsWebSocketUpgrade(r) {
		h.opts.WriteError(w, r, dispatch.Malformed("this endpoint speaks websocket only"))
		return
	}
	if !h.checkOrigin(r) {
		h.opts.WriteError(w, r, dispatch.Forbidden("websocket from origin %q refused", r.Header.Get("Origin")))
		return
	}
	h.mu.Lock()
	running := h.running
	h.mu.Unlock()
	if !running {
		h.opts.WriteError(w, r, dispatch.Unavailable(errors.New("live hub not running")))
		return
	}
	// A client without `after` starts where the hub was when its request came, not where it
	// is once the handshake is answered: the client counts itself connected from the answer
	// on, so an event fanned out between the two is replayed to it rather than lost.
	fresh := after < 0
	if fresh {
		after = h.Cursor()
	}
	stale := false
	if !fresh && after > 0 {
		// Number what is committed first, so that an id this client got from another
		// instance is within last_seq. An `after` still beyond it was handed out by a
		// database that has since lost it (a failover to a lagging replica, asynchronous
		// commits lost at a crash): the client's state holds events that no longer exist and
		// its numbers will name other events, so it must reload (as checkRewind tells the
		// clients connected at the time).
		if _, err := Sequence(r.Context(), h.db); err == nil {
			var last int64
			if err := h.db.QueryRowContext(r.Context(), "SELECT last_seq FROM live_state WHERE one").Scan(&last); err == nil && after > last {
				stale = true
			}
		}
	}
	conn, err := h.upgrader.Upgrade(hijackable(w), r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	if stale {
		h.m.rewinds.Inc()
		h.log.Warn("live: a client resumed after a number the database never handed out; told to reload", "after", after)
		_ = conn.SetWriteDeadline(time.Now().Add(h.opts.WriteWait))
		_ = conn.WriteMessage(websocket.TextMessage, control(TypeReload, h.opts.Now(), nil))
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "reload"), time.Now().Add(h.opts.WriteWait))
		// Give the client a moment to answer the close, so the reload is read, not reset.
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				break
			}
		}
		_ = conn.Close()
		return
	}
	c := &client{
		h:          h,
		conn:       conn,
		r:          r,
		v:          v,
		recheck:    make(chan struct{}, 1),
		send:       make(chan [][]byte, h.opts.SendQueue),
		stopped:    make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	if f := h.upgraded.Load(); f != nil {
		(*f)()
	}
	caughtUp, ok := h.register(c, after, fresh)
	if !ok {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	defer h.unregister(c)
	ctx, cancel := context.WithCancel(h.base)
	defer cancel()
	go c.readLoop()
	c.writeLoop(ctx, after, caughtUp)
}

// hijackable digs through middleware wrappers (Unwrap) to a ResponseWriter that can be
// hijacked; gorilla/websocket asks for http.Hijacker directly.
func hijackable(w http.ResponseWriter) http.ResponseWriter {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// register adds c. A fresh client (no `after`; after is then the cursor when its request
// came) that nothing was fanned out to since is live at once from the current cursor, which
// it reports as caughtUp; any other first catches up from the log (writeLoop). The cursor
// below the request's means the sequence went back since, and the pump has told the clients
// of then to reload: this one starts from where the pump is now.
func (h *Hub) register(c *client, after int64, fresh bool) (caughtUp, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, false
	}
	h.clients[c] = struct{}{}
	if fresh && h.cursor <= after {
		c.live, c.last, caughtUp = true, h.cursor, true
	}
	h.wg.Add(1)
	h.m.clients.Inc()
	return caughtUp, true
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	c.live = false
	h.mu.Unlock()
	h.m.clients.Dec()
	h.wg.Done()
}

// client is one websocket connection. The writer goroutine (the handler's) is the only one
// that writes data frames; the reader goroutine reads client messages and pongs.
type client struct {
	h    *Hub
	conn *websocket.Conn
	r    *http.Request // the upgrade request, authenticated again by Options.Recheck
	v    viewer
	sub  atomic.Pointer[Subscription]
	send chan [][]byte // rounds of encoded messages
	// recheck asks the writer to recheck the caller's session and rights now.
	recheck chan struct{}

	stopOnce   sync.Once
	stopped    chan struct{}
	stopCode   int
	stopReason string
	stopMsg    []byte // a last message written before the close frame, if any
	readerDone chan struct{}

	// Guarded by h.mu.
	live bool  // the pump hands it new events
	last int64 // the last seq it has been handed (or skipped)
}

// stop asks the writer to close the connection with code and reason; safe from any goroutine.
func (c *client) stop(code int, reason string) { c.stopWith(nil, code, reason) }

// stopWith is stop with a last message (e.g. reload) that the writer sends before the close
// frame, whatever it was doing.
func (c *client) stopWith(msg []byte, code int, reason string) {
	c.stopOnce.Do(func() {
		c.stopMsg, c.stopCode, c.stopReason = msg, code, reason
		close(c.stopped)
		// A writer blocked on a full socket gives up within a second instead of WriteWait.
		_ = c.conn.UnderlyingConn().SetWriteDeadline(time.Now().Add(time.Second))
	})
}

// reply queues a control message; a client whose queue is full is cut off.
func (c *client) reply(b []byte) {
	select {
	case c.send <- [][]byte{b}:
	default:
		c.h.m.cutOff.Inc()
		c.stop(websocket.CloseTryAgainLater, "too slow; reconnect with after")
	}
}

func (c *client) readLoop() {
	defer close(c.readerDone)
	h := c.h
	pongWait := 2 * h.opts.PingPeriod
	c.conn.SetReadLimit(h.opts.MaxMessageSize)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
		m, err := ParseClientMessage(data)
		if err != nil {
			c.reply(control(TypeError, h.opts.Now(), errorData(err)))
			continue
		}
		if m.Subscribe != nil {
			c.sub.Store(m.Subscribe)
			c.reply(control(TypeSubscribed, h.opts.Now(), m.Subscribe))
		}
	}
}

// writeLoop replays what the client missed after `after` unless it is caughtUp already,
// then sends queued messages and pings until the connection ends or the hub stops the
// client.
func (c *client) writeLoop(ctx context.Context, after int64, caughtUp bool) {
	defer func() {
		_ = c.conn.Close()
		<-c.readerDone
	}()
	if !caughtUp && !c.catchUp(ctx, after) {
		return
	}
	ping := time.NewTicker(c.h.opts.PingPeriod)
	defer ping.Stop()
	var recheckTick <-chan time.Time
	if c.v.userID != 0 && c.h.opts.Recheck != nil {
		t := time.NewTicker(c.h.opts.RecheckInterval)
		defer t.Stop()
		recheckTick = t.C
	}
	for {
		select {
		case <-recheckTick:
			if !c.stillAllowed(ctx) {
				return
			}
		case <-c.recheck:
			if !c.stillAllowed(ctx) {
				return
			}
		case batch := <-c.send:
			for _, b := range batch {
				if err := c.write(websocket.TextMessage, b); err != nil {
					if errors.Is(err, errStopped) {
						c.closeStopped()
					}
					return
				}
			}
		case <-ping.C:
			if c.write(websocket.PingMessage, nil) != nil {
				return
			}
		case <-c.stopped:
			c.closeStopped()
			return
		case <-c.readerDone:
			return
		}
	}
}

func (c *client) write(typ int, b []byte) error {
	select {
	case <-c.stopped:
		return errStopped // the deadline set by stop must not be extended
	default:
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.h.opts.WriteWait))
	return c.conn.WriteMessage(typ, b)
}

var errStopped = errors.New("client stopped")

// askRecheck asks the writer to recheck the caller now; safe from any goroutine.
func (c *client) askRecheck() {
	select {
	case c.recheck <- struct{}{}:
	default:
	}
}

// stillAllowed authenticates the connection's request again (Options.Recheck). When the
// session has ended, or the user's rights no longer give the view the connection was opened
// with, it closes the connection (1008; reconnecting signs in afresh) and reports false. A
// check that fails for another reason (the database unavailable) keeps the connection until
// the next one.
func (c *client) stillAllowed(ctx context.Context) bool {
	h := c.h
	if c.v.userID == 0 || h.opts.Recheck == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, recheckTimeout)
	defer cancel()
	u, err := h.opts.Recheck(ctx, c.r)
	if err == nil && u == nil {
		err = dispatch.Unauthenticated("sign in first")
	}
	if err == nil {
		var v viewer
		if v, err = h.viewerOf(ctx, u); err == nil && v != c.v {
			err = dispatch.Forbidden("the account's rights changed")
		}
	}
	if err == nil {
		return true
	}
	if k := dispatch.ErrorKind(err); k != dispatch.KindUnauthenticated && k != dispatch.KindForbidden {
		if ctx.Err() == nil {
			h.log.Warn("live: rechecking a connection's session failed; will retry", "err", err)
		}
		return true
	}
	h.m.revoked.Inc()
	c.closeWith(websocket.ClosePolicyViolation, "signed out or no longer allowed; sign in again")
	return false
}

// recheckTimeout bounds one recheck of a connection's session.
const recheckTimeout = 10 * time.Second

// closeStopped ends a connection that stop asked to end: the last message, then the close
// frame.
func (c *client) closeStopped() {
	if c.stopMsg != nil {
		_ = c.conn.WriteMessage(websocket.TextMessage, c.stopMsg)
	}
	c.closeWith(c.stopCode, c.stopReason)
}

// closeWith sends a close frame and gives the client a moment to answer it, so that what
// was sent before is read rather than lost to a reset connection.
func (c *client) closeWith(code int, reason string) {
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(c.h.opts.WriteWait))
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.readerDone:
	case <-t.C:
	}
}

// catchUpPage bounds the events read per query while a client catches up.
const catchUpPage = 500

// catchUp sends, from the log, what the client may see after `after`, then joins the live
// stream exactly where the replay ended: under the hub's lock, once the replay has reached
// the pump's cursor, the client becomes live with its own position, and the pump hands it
// only events beyond that position. False means the connection is over.
func (c *client) catchUp(ctx context.Context, after int64) bool {
	h := c.h
	// Number what is already committed, so that an id the client got from another instance
	// is never mistaken for one from the future.
	if _, err := Sequence(ctx, h.db); err != nil {
		h.log.Warn("live: sequencing before replay failed", "err", err)
	}
	win, err := readReplayWindow(ctx, h.db, after)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("live: replay window unavailable", "err", err)
		}
		c.closeUnavailable()
		return false
	}
	if win.lost(after, h.opts.Now(), h.opts.MaxReplayAge) {
		return c.reload()
	}
	last := min(after, win.last) // an id from the future means nothing is missed yet
	for {
		select {
		case <-c.stopped:
			c.closeStopped()
			return false
		case <-c.readerDone:
			return false
		default:
		}
		// Where the pump was before this read: events it had delivered by then are in the
		// log unless deleted, while those it delivers during the read may not be in the
		// read's snapshot yet.
		h.mu.Lock()
		pumped := h.cursor
		h.mu.Unlock()
		rows, err := readAfter(ctx, h.db, last, catchUpPage)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("live: replay failed", "err", err)
			}
			c.closeUnavailable()
			return false
		}
		if f := h.replayRead.Load(); f != nil {
			(*f)()
		}
		if len(rows) > 0 && rows[0].Seq > last+1 && last > 0 {
			// Retention removed events between the check above and now.
			return c.reload()
		}
		items := h.items(ctx, rows)
		sub := c.sub.Load()
		for _, it := range items {
			last = it.seq
			if !h.sees(c.v, &it.ev) || !sub.matches(&it.ev) {
				continue
			}
			if err := c.write(websocket.TextMessage, h.payload(c.v, it)); err != nil {
				if errors.Is(err, errStopped) {
					c.closeStopped()
				}
				return false
			}
			h.m.fannedOut.Inc()
		}
		if len(rows) == catchUpPage {
			continue
		}
		h.mu.Lock()
		if last >= h.cursor {
			c.live, c.last = true, last
			h.mu.Unlock()
			return true
		}
		h.mu.Unlock()
		if len(rows) == 0 && pumped > last {
			// The pump was past us before the read, yet the log holds nothing after last:
			// deleted meanwhile. Otherwise the pump moved on during the read: read again.
			return c.reload()
		}
	}
}

// closeUnavailable ends a replay that the database could not serve, or that Close cut short.
func (c *client) closeUnavailable() {
	select {
	case <-c.stopped:
		c.closeStopped()
	default:
		c.closeWith(websocket.CloseTryAgainLater, "database unavailable; retry")
	}
}

// reload tells the client it is too far behind and closes the connection.
func (c *client) reload() bool {
	_ = c.write(websocket.TextMessage, control(TypeReload, c.h.opts.Now(), nil))
	c.closeWith(websocket.CloseNormalClosure, "reload")
	return false
}

// writeError is the default Options.WriteError: the contract's error shape.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch dispatch.ErrorKind(err) {
	case dispatch.KindMalformed:
		status = http.StatusBadRequest
	case dispatch.KindUnauthenticated:
		status = http.StatusUnauthorized
	case dispatch.KindForbidden:
		status = http.StatusForbidden
	case dispatch.KindNotFound:
		status = http.StatusNotFound
	case dispatch.KindInvalid:
		status = http.StatusUnprocessableEntity // a bad after
	case dispatch.KindUnavailable:
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	d := errorData(err)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": d})
}
