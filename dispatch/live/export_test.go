package live

// SetReplayRead makes h call f after each read of the log while a client catches up, so
// that a test can let the pump move on between that read and the replay's next step.
func SetReplayRead(h *Hub, f func()) { h.replayRead.Store(&f) }

// CatchUpPage is how many events a catching-up client reads per query.
const CatchUpPage = catchUpPage
