package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// TechnicianOf returns the technician record linked to a user account; a dispatch NotFound
// error means the user is linked to none.
type TechnicianOf func(ctx context.Context, userID int64) (technicianID int64, err error)

// FolioAccess checks a folio and its access code and returns the report's id; a wrong code
// or an unknown folio is a dispatch NotFound error.
type FolioAccess func(ctx context.Context, folio, code string) (reportID int64, err error)

// Folios returns the folios of the given reports; reports it does not know are left out.
type Folios func(ctx context.Context, reportIDs []int64) (map[int64]string, error)

// Options tune a hub; only UserOf is needed for staff connections.
type Options struct {
	// UserOf returns the signed-in caller of a request, e.g.
	// func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) }.
	UserOf func(*http.Request) *dispatch.User
	// TechnicianOf links a technician's user to his technician record; without it
	// technicians are refused (403).
	TechnicianOf TechnicianOf
	// Recheck authenticates a websocket's request again (its bearer header, session cookie or
	// token query parameter) and returns the user it now belongs to, e.g.
	// web.Server.Reauthenticate. A connection whose session has ended (sign-out, expiry, a
	// new password, deactivation), or whose user may no longer see what it streams (another
	// role, a technician record unlinked), is closed with 1008 within RecheckInterval, and
	// at once when a user.updated or technician.updated event names it. Nil: connections
	// are never rechecked.
	Recheck func(context.Context, *http.Request) (*dispatch.User, error)
	// RecheckInterval is how often an open connection is rechecked; 0 means 30 s.
	RecheckInterval time.Duration
	// FolioAccess serves the customer's status page (ServePublic); without it that
	// endpoint answers 404.
	FolioAccess FolioAccess
	// Folios adds the folio to messages about a report whose event data lacks it.
	Folios Folios
	// WriteError writes an error before the upgrade in the contract's shape (web.WriteError
	// with the server's logger); nil uses a minimal writer of the same shape.
	WriteError func(http.ResponseWriter, *http.Request, error)
	// AllowedOrigins are the browser origins besides the server's own host that may open
	// a websocket, e.g. "https://despacho.example.mx".
	AllowedOrigins []string
	// PublicTypes are the event types the status page receives (entries ending in "." are
	// prefixes); nil means "report." and "visit.".
	PublicTypes []string
	// PublicKeys are the data keys the status page receives; nil means report_id, folio,
	// status, window, start, end, planned_arrival, eta, cause, verdict, service_restored.
	PublicKeys []string
	// Registry receives the hub's metrics; nil means a private registry.
	Registry prometheus.Registerer
	Log      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxReplayAge: a client whose first missed event is older than this is told to reload
	// instead of replaying; 0 means 24 h, negative means no limit.
	MaxReplayAge time.Duration
	// SendQueue is how many rounds of fan-out (each the events one read of the log found,
	// so a burst counts once) may wait for a slow client before it is cut off; 0 means 64.
	SendQueue int
	// MaxMessageSize bounds a client's message in bytes; 0 means 4096.
	MaxMessageSize int64
	// PingPeriod is how often the server pings a client; a client silent for twice as long
	// is dropped. 0 means 25 s.
	PingPeriod time.Duration
	// WriteWait bounds one write to a client; 0 means 10 s.
	WriteWait time.Duration
	// PollInterval is how often the hub reads the log even without notifications; 0 means 5 s.
	PollInterval time.Duration
	// ListenerPing is how long the listener may hear nothing before it proves its
	// connection with a ping of its own; 0 means 5 s.
	ListenerPing time.Duration
}

func (o *Options) setDefaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.PublicTypes == nil {
		o.PublicTypes = []string{"report.", "visit."}
	}
	if o.PublicKeys == nil {
		o.PublicKeys = []string{"report_id", "folio", "status", "window", "start", "end", "planned_arrival", "eta", "cause", "verdict", "service_restored"}
	}
	if o.MaxReplayAge == 0 {
		o.MaxReplayAge = 24 * time.Hour
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 64
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 4096
	}
	if o.PingPeriod <= 0 {
		o.PingPeriod = 25 * time.Second
	}
	if o.WriteWait <= 0 {
		o.WriteWait = 10 * time.Second
	}
	if o.RecheckInterval <= 0 {
		o.RecheckInterval = 30 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.ListenerPing <= 0 {
		o.ListenerPing = 5 * time.Second
	}
	if o.WriteError == nil {
		o.WriteError = writeError
	}
}

// Hub fans the event log out to websocket clients of this instance.
type Hub struct {
	db         *bun.DB
	opts       Options
	log        *slog.Logger
	m          *metrics
	upgrader   websocket.Upgrader
	origins    map[string]bool
	publicKeys map[string]bool

	wake      chan struct{}
	needSeq   atomic.Bool // the queue may hold committed events to number
	needRead  atomic.Bool // live_seq may hold numbers not yet fanned out
	listening atomic.Bool
	// replayRead, when set (tests only, see export_test.go), runs in catchUp after each
	// read of the log, before the replay compares its position with the pump's cursor.
	replayRead atomic.Pointer[func()]
	// upgraded, when set (tests only), runs once a handshake is answered, before the
	// client is registered.
	upgraded atomic.Pointer[func()]

	base      context.Context // ends with Close: bounds every client's work
	cancel    context.CancelFunc
	closeOnce sync.Once
	wg        sync.WaitGroup // client connections

	mu      sync.Mutex
	running bool  // the cursor is known: clients may connect
	closed  bool  // Close was called
	cursor  int64 // every seq up to here has been handed to the live clients
	// cursorEvent is the event numbered cursor when this hub delivered it (0 when unknown):
	// finding another event under that number means the numbers were handed out again.
	cursorEvent int64
	clients     map[*client]struct{}
}

// New returns a hub on db; it serves nothing until Run has read the current position.
func New(db *bun.DB, opts Options) *Hub {
	opts.setDefaults()
	h := &Hub{
		db:         db,
		opts:       opts,
		log:        opts.Log,
		m:          newMetrics(opts.Registry),
		origins:    map[string]bool{},
		publicKeys: map[string]bool{},
		wake:       make(chan struct{}, 1),
		clients:    map[*client]struct{}{},
	}
	for _, o := range opts.AllowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			h.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
		}
	}
	for _, k := range opts.PublicKeys {
		h.publicKeys[k] = true
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		CheckOrigin:      h.checkOrigin,
	}
	h.base, h.cancel = context.WithCancel(context.Background())
	return h
}

// Run reads the log's current position, then listens for notifications and fans events
// out until ctx ends or Close is called; it then closes every client connection and returns
// nil. While the database is down it keeps retrying.
func (h *Hub) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.base, cancel)
	defer stop()
	defer h.Close()

	backoff := newBackoff()
	for {
		cur, err := lastSeq(ctx, h.db)
		if err == nil {
			h.mu.Lock()
			h.cursor, h.running = cur, !h.closed
			h.mu.Unlock()
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		h.log.Warn("live: cannot read the event sequence; retrying", "err", err)
		if !backoff.wait(ctx) {
			return nil
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { h.listen(ctx) })
	h.pump(ctx)
	wg.Wait()
	return nil
}

// Close ends Run, closes every client connection (http.Server.Shutdown does not close
// hijacked connections) and waits for their goroutines. It is safe to call more than once.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed, h.running = true, false
		for c := range h.clients {
			c.stop(websocket.CloseGoingAway, "server shutting down")
		}
		h.mu.Unlock()
		h.cancel()
	})
	h.wg.Wait()
}

// Ready reports whether the hub is serving and its listener is connected to PostgreSQL.
// While it is false, events still reach clients, by polling, within PollInterval.
func (h *Hub) Ready() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running && h.listening.Load()
}

// Cursor returns the last seq fanned out to the live clients of this instance.
func (h *Hub) Cursor() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cursor
}

// Position returns the hub's cursor and whether the hub is serving. Every event up to the
// cursor is committed, so an answer built from reads made after the call shows them all: a
// page that loaded its data so and connects with `after` set to it misses no event since,
// and sees few twice.
func (h *Hub) Position() (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cursor, h.running
}

// Clients returns how many websocket clients are connected to this instance.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (h *Hub) poke(sequence, read bool) {
	if sequence {
		h.needSeq.Store(true)
	}
	if read {
		h.needRead.Store(true)
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// pump numbers queued events and fans new ones out whenever it is woken, and at least every
// PollInterval. It is the only goroutine that moves the hub's cursor.
func (h *Hub) pump(ctx context.Context) {
	tick := time.NewTicker(h.opts.PollInterval)
	defer tick.Stop()
	h.needSeq.Store(true)
	h.needRead.Store(true)
	var retry <-chan time.Time
	backoff := newBackoff()
	for {
		failed := !h.pumpOnce(ctx)
		if failed {
			retry = time.After(backoff.next())
		} else {
			backoff.reset()
			retry = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-retry:
		case <-tick.C:
			h.needSeq.Store(true)
			h.needRead.Store(true)
		}
	}
}

// pumpOnce does the work asked for since the last round; false means it must be retried. A
// panic (a bug) is logged and retried rather than taking the whole service down.
func (h *Hub) pumpOnce(ctx context.Context) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("live: panic in the pump", "panic", p)
			h.needSeq.Store(true)
			h.needRead.Store(true)
			ok = false
		}
	}()
	failed := false
	if h.needSeq.Swap(false) {
		n, err := Sequence(ctx, h.db)
		if err != nil {
			h.needSeq.Store(true)
			failed = true
			if ctx.Err() == nil {
				h.log.Warn("live: sequencing failed; will retry", "err", err)
			}
		}
		if n > 0 {
			h.m.sequenced.Add(float64(n))
			h.needRead.Store(true)
		}
	}
	if h.needRead.Swap(false) {
		if err := h.fanOut(ctx); err != nil {
			h.needRead.Store(true)
			failed = true
			if ctx.Err() == nil {
				h.log.Warn("live: reading the event sequence failed; will retry", "err", err)
			}
		}
	}
	return !failed
}

// fanOutBatch bounds the events read per query by the pump.
const fanOutBatch = 1000

// fanOut reads what follows the cursor and hands it to every live client that may see it.
func (h *Hub) fanOut(ctx context.Context) error {
	if err := h.checkRewind(ctx); err != nil {
		return err
	}
	for {
		h.mu.Lock()
		from := h.cursor
		h.mu.Unlock()
		rows, err := readAfter(ctx, h.db, from, fanOutBatch)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		h.deliver(h.items(ctx, rows))
		if len(rows) < fanOutBatch {
			return nil
		}
	}
}

// deliver offers items to every live client and moves the cursor past them.
func (h *Hub) deliver(items []*item) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if c.live {
			h.offer(c, items)
		}
	}
	h.cursor = items[len(items)-1].seq
	h.cursorEvent = items[len(items)-1].ev.ID
}

// checkRewind finds the live sequence behind what this hub has delivered: live_state.last_seq
// below the cursor, or another event under the cursor's number. Both happen only when the
// database lost committed work — a failover to a lagging replica, asynchronous commits lost
// at a crash, a restore from backup — and then the numbers the clients hold mean other
// events, or nothing. Every client (live or still replaying) is told to reload and the cursor
// moves back to the database's position; clients that reconnect start from there.
func (h *Hub) checkRewind(ctx context.Context) error {
	h.mu.Lock()
	cursor, event := h.cursor, h.cursorEvent
	h.mu.Unlock()
	if cursor == 0 {
		return nil
	}
	last, atCursor, err := seqState(ctx, h.db, cursor)
	if err != nil {
		return err
	}
	// A missing row at the cursor is retention, not a rewind: its number is not reused.
	if last >= cursor && (event == 0 || atCursor == 0 || atCursor == event) {
		return nil
	}
	_, lastEvent, err := seqState(ctx, h.db, last)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cursor != cursor {
		return nil // only the pump moves the cursor; defensive
	}
	h.log.Warn("live: the event sequence went backwards; every client must reload",
		"delivered", cursor, "database", last)
	h.m.rewinds.Inc()
	reload := control(TypeReload, h.opts.Now(), nil)
	for c := range h.clients {
		c.live = false
		c.stopWith(reload, websocket.CloseNormalClosure, "reload")
	}
	h.cursor, h.cursorEvent = last, lastEvent
	return nil
}

// offer queues, as one element, the items c may see and has not had yet; a full queue cuts
// c off. h.mu held.
func (h *Hub) offer(c *client, items []*item) {
	sub := c.sub.Load()
	var batch [][]byte
	for _, it := range items {
		if it.seq <= c.last {
			continue
		}
		c.last = it.seq
		if c.v.userID != 0 && (it.account == c.v.userID ||
			(c.v.technicianID != 0 && it.ev.Type == "technician.updated" && it.ev.TechnicianID == c.v.technicianID)) {
			c.askRecheck()
		}
		if h.sees(c.v, &it.ev) && sub.matches(&it.ev) {
			batch = append(batch, h.payload(c.v, it))
		}
	}
	if len(batch) == 0 {
		return
	}
	select {
	case c.send <- batch:
		h.m.fannedOut.Add(float64(len(batch)))
	default:
		h.m.cutOff.Inc()
		c.live = false
		c.stop(websocket.CloseTryAgainLater, "too slow; reconnect with after")
	}
}

// items encodes rows as messages, adding folios where the data lacks them.
func (h *Hub) items(ctx context.Context, rows []seqRow) []*item {
	items := make([]*item, len(rows))
	var need []int64
	for i := range rows {
		items[i] = rows[i].item()
		if items[i].ev.Type == "user.updated" {
			var d struct {
				UserID int64 `json:"user_id"`
			}
			if json.Unmarshal(items[i].ev.Data, &d) == nil {
				items[i].account = d.UserID
			}
		}
		if h.opts.Folios != nil && rows[i].ReportID != 0 && !hasKey(rows[i].Data, "folio") {
			need = append(need, rows[i].ReportID)
		}
	}
	if len(need) > 0 {
		folios, err := h.opts.Folios(ctx, need)
		if err != nil {
			h.log.Warn("live: folios unavailable; sending messages without them", "err", err)
		}
		for _, it := range items {
			it.folio = folios[it.ev.ReportID]
		}
	}
	for _, it := range items {
		it.full = encodeEvent(it, nil)
	}
	return items
}

func hasKey(data json.RawMessage, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

// checkOrigin lets a browser connect from the server's own host or a configured origin;
// clients that send no Origin (not browsers) cannot carry a victim's cookie and pass.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return h.origins[strings.ToLower(u.Scheme+"://"+u.Host)]
}

// backoff doubles a wait from 50 ms up to 2 s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) next() time.Duration {
	if b.d == 0 {
		b.d = 50 * time.Millisecond
	} else if b.d < 2*time.Second {
		b.d *= 2
	}
	return b.d
}

func (b *backoff) reset() { b.d = 0 }

// wait sleeps the next backoff; false when ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type metrics struct {
	clients    prometheus.Gauge
	fannedOut  prometheus.Counter
	cutOff     prometheus.Counter
	reconnects prometheus.Counter
	ready      prometheus.Gauge
	sequenced  prometheus.Counter
	rewinds    prometheus.Counter
	revoked    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "despacho_live_clients", Help: "Websocket clients connected to this instance."}),
		fannedOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_live_events_fanned_out_total", Help: "Event messages handed to websocket clients (one per client)."}),
		cutOff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_live_clients_cut_off_total", Help: "Websocket clients disconnected because they could not keep up."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_live_listener_reconnects_total", Help: "Times the LISTEN connection to PostgreSQL was re-established."}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "despacho_live_listener_ready", Help: "1 while the LISTEN connection to PostgreSQL works."}),
		sequenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_live_events_sequenced_total", Help: "Committed events numbered by this instance's sequencer."}),
		rewinds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_live_sequence_rewinds_total", Help: "Times the live sequence was found behind what this instance had delivered (every client was told to reload)."}),
		revoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_live_clients_revoked_total", Help: "Websocket clients closed because their session ended or their user may no longer see the stream."}),
	}
	m.clients = register(reg, m.clients)
	m.fannedOut = register(reg, m.fannedOut)
	m.cutOff = register(reg, m.cutOff)
	m.reconnects = register(reg, m.reconnects)
	m.ready = register(reg, m.ready)
	m.sequenced = register(reg, m.sequenced)
	m.rewinds = register(reg, m.rewinds)
	m.revoked = register(reg, m.revoked)
	return m
}

// register registers c, or returns the collector already registered under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
