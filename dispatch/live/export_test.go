package live

// SetReplayRead makes h call f after each read of the log while a client catches up, so
// that a test can let the pump move on between that read and the replay's next step.
func SetReplayRead(h *Hub, f func()) { h.replayRead.Store(&f) }

// CatchUpPage is how many events a catching-up client reads per query.
const CatchUpPage = catchUpPage

// SetUpgraded makes h call f once it has answered a websocket handshake and before it
// registers the client, so that a test can append an event in between.
func SetUpgraded(h *Hub, f func()) { h.upgraded.Store(&f) }
