package notify_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/notify"
)

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN": "abcdef0123456789",
		"TWILIO_FROM": "+525512345678", "PUBLIC_BASE_URL": "https://despacho.example.mx/",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cfg, err := notify.ConfigFromEnv(func(k string) string { return good[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dev() || cfg.PublicBaseURL != "https://despacho.example.mx" || cfg.APIBase.String() != "https://api.twilio.com" ||
		cfg.Location.String() != "America/Mexico_City" || cfg.ReminderHour != 18 || cfg.ETASlip != 20*time.Minute {
		t.Errorf("ConfigFromEnv = %+v; want the defaults and a trimmed base URL", cfg)
	}
	if got := cfg.StatusURL("R-2611-000001"); got != "https://despacho.example.mx/estado/R-2611-000001" {
		t.Errorf("StatusURL = %q", got)
	}
	dev, err := notify.ConfigFromEnv(func(string) string { return "" })
	if err != nil || !dev.Dev() || dev.PublicBaseURL == "" {
		t.Errorf("empty environment: %+v, %v; want the development outbox", dev, err)
	}
	for _, tt := range []struct{ key, value, wantVar string }{
		{"TWILIO_AUTH_TOKEN", "<unset>", "TWILIO_AUTH_TOKEN"},
		{"TWILIO_ACCOUNT_SID", "<unset>", "TWILIO_ACCOUNT_SID"},
		{"TWILIO_ACCOUNT_SID", "AC-bad!", "TWILIO_ACCOUNT_SID"},
		{"TWILIO_ACCOUNT_SID", "XX0123", "TWILIO_ACCOUNT_SID"},
		{"TWILIO_AUTH_TOKEN", "tok en", "TWILIO_AUTH_TOKEN"},
		{"TWILIO_FROM", "<unset>", "TWILIO_FROM"},
		{"TWILIO_FROM", "55 1234 5678", "TWILIO_FROM"},
		{"TWILIO_MESSAGING_SERVICE_SID", "XY12", "TWILIO_MESSAGING_SERVICE_SID"},
		{"TWILIO_API_BASE", "ftp://x", "TWILIO_API_BASE"},
		{"TWILIO_API_BASE", "http://", "TWILIO_API_BASE"},
		{"PUBLIC_BASE_URL", "<unset>", "PUBLIC_BASE_URL"},
		{"PUBLIC_BASE_URL", "despacho.example.mx", "PUBLIC_BASE_URL"},
		{"TZ_BUSINESS", "Mars/Olympus", "TZ_BUSINESS"},
		{"SMS_REMINDER_HOUR", "24", "SMS_REMINDER_HOUR"},
		{"SMS_ETA_SLIP", "-5m", "SMS_ETA_SLIP"},
		{"SMS_RATE", "fast", "SMS_RATE"},
	} {
		env := with(tt.key, tt.value)
		_, err := notify.ConfigFromEnv(func(k string) string { return env[k] })
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantVar+":") {
			t.Errorf("%s=%q: error %v; want one naming %s", tt.key, tt.value, err, tt.wantVar)
		}
	}
	svc := with("TWILIO_FROM", "<unset>")
	svc["TWILIO_MESSAGING_SERVICE_SID"] = "MG0123456789abcdef"
	if _, err := notify.ConfigFromEnv(func(k string) string { return svc[k] }); err != nil {
		t.Errorf("messaging service instead of From: %v; want nil", err)
	}
}

// TestLinksFollowHTTPAddr: without PUBLIC_BASE_URL (the development outbox), the links in
// texts pointed at http://localhost:8080 wherever serve listened. They follow HTTP_ADDR, a
// wildcard host read as localhost; PUBLIC_BASE_URL, when set, wins.
func TestLinksFollowHTTPAddr(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"":                "http://localhost:8080",
		":8080":           "http://localhost:8080",
		"127.0.0.1:18181": "http://127.0.0.1:18181",
		"0.0.0.0:9090":    "http://localhost:9090",
		"[::]:7070":       "http://localhost:7070",
		"[::1]:7071":      "http://[::1]:7071",
		"despacho.lan:80": "http://despacho.lan:80",
	} {
		cfg, err := notify.ConfigFromEnv(func(k string) string { return map[string]string{"HTTP_ADDR": addr}[k] })
		if err != nil || cfg.PublicBaseURL != want {
			t.Errorf("HTTP_ADDR=%q: base %q, %v; want %q", addr, cfg.PublicBaseURL, err, want)
		}
	}
	env := map[string]string{"HTTP_ADDR": "127.0.0.1:18181", "PUBLIC_BASE_URL": "https://despacho.example.mx"}
	if cfg, err := notify.ConfigFromEnv(func(k string) string { return env[k] }); err != nil || cfg.PublicBaseURL != "https://despacho.example.mx" {
		t.Errorf("with PUBLIC_BASE_URL: base %q, %v; want PUBLIC_BASE_URL's", cfg.PublicBaseURL, err)
	}
	if _, err := notify.ConfigFromEnv(func(k string) string { return map[string]string{"HTTP_ADDR": "8080"}[k] }); err == nil ||
		!strings.HasPrefix(err.Error(), "HTTP_ADDR:") {
		t.Errorf("HTTP_ADDR=8080: error %v; want one naming HTTP_ADDR", err)
	}
}

func TestKeyword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{" Sí. ": "SI", "baja": "BAJA", "¡Cambiar!": "CAMBIAR", "1": "1", "confirmó": "CONFIRMO", "no sirve": "NO SIRVE",
		// Phones add emoji and keycaps, and people type two spaces or a line break.
		"Sí 👍": "SI", "👍🏽 si": "SI", "1️⃣": "1", "2⃣": "2", "BAJA 🙏": "BAJA", "ok ✅": "OK", "si ❤️": "SI",
		"sigue  sin\nservicio": "SIGUE SIN SERVICIO", "No\tfunciona": "NO FUNCIONA",
		// Courtesy around the word: "alta por favor" was no keyword, so the customer stayed
		// opted out.
		"alta por favor": "ALTA", "Baja, por favor.": "BAJA", "2 porfa": "2", "Sí, muchas gracias 🙏": "SI",
		"Por favor cambiar": "CAMBIAR", "STOP please": "STOP", "Ya funciona, gracias": "YA FUNCIONA",
		"Gracias": "GRACIAS", "por favor": "POR FAVOR",
		// An acknowledgement stays whole: "Muchas gracias" read as "MUCHAS" filed a report.
		"Muchas gracias!": "MUCHAS GRACIAS", "Mil gracias": "MIL GRACIAS", "Ok, gracias": "OK"} {
		if got := notify.Keyword(in); got != want {
			t.Errorf("Keyword(%q) = %q; want %q", in, got, want)
		}
	}
	if !notify.StillDown(notify.Keyword("no  funciona")) {
		t.Error(`StillDown(Keyword("no  funciona")) = false; want true`)
	}
}

// TestKeywordConcurrent: inbound texts are read concurrently (one goroutine per webhook
// request), so Keyword must be safe to call from many at once (run with -race).
func TestKeywordConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if got := notify.Keyword(" Sí, confirmó "); got != "SI, CONFIRMO" {
					t.Errorf("Keyword = %q; want %q", got, "SI, CONFIRMO")
					return
				}
			}
		}()
	}
	wg.Wait()
}
