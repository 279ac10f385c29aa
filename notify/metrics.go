package notify

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the worker does, for Prometheus.
type Metrics struct {
	sent       *prometheus.CounterVec
	failed     *prometheus.CounterVec
	retries    prometheus.Counter
	reconciled prometheus.Counter
	latency    prometheus.Histogram
}

// NewMetrics registers the SMS metrics on reg (nil: a private registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "despacho_sms_sent_total", Help: "Texts accepted by the provider, by sender (twilio or dev).",
		}, []string{"sender"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "despacho_sms_failed_total", Help: "Texts ended without sending: failed, skipped (opted out) or cancelled (expired), with the provider's error code.",
		}, []string{"state", "code"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_sms_retries_total", Help: "Send attempts that failed transiently and were rescheduled.",
		}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "despacho_sms_reconciled_total", Help: "Ambiguous attempts found at the provider by reconciliation (not re-sent).",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "despacho_sms_send_seconds", Help: "Duration of one send request to the provider.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
	}
	reg.MustRegister(m.sent, m.failed, m.retries, m.reconciled, m.latency)
	return m
}

func (m *Metrics) observeSend(d time.Duration) {
	if m != nil {
		m.latency.Observe(d.Seconds())
	}
}

func (m *Metrics) countSent(sender string, n int) {
	if m != nil {
		m.sent.WithLabelValues(sender).Add(float64(n))
	}
}

func (m *Metrics) countEnded(state string, code int) {
	if m != nil {
		m.failed.WithLabelValues(state, strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) countRetry() {
	if m != nil {
		m.retries.Inc()
	}
}

func (m *Metrics) countReconciled() {
	if m != nil {
		m.reconciled.Inc()
	}
}
