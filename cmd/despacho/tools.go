//go:build tools

// This file pins the modules that despacho's packages import, so that `go mod tidy` keeps
// them (and their go.sum entries) while the packages using them are being written.
package main

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/go-co-op/gocron/v2"
	_ "github.com/gorilla/websocket"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/collectors"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/twilio/twilio-go"
	_ "github.com/twilio/twilio-go/client"
	_ "github.com/twilio/twilio-go/rest/api/v2010"
	_ "github.com/twilio/twilio-go/twiml"
	_ "github.com/uptrace/bun"
	_ "github.com/uptrace/bun/dialect/pgdialect"
	_ "github.com/uptrace/bun/driver/pgdriver"
	_ "github.com/uptrace/bun/migrate"
	_ "go.uber.org/goleak"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/text/encoding/charmap"
	_ "golang.org/x/text/encoding/htmlindex"
)
