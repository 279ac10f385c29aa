package notify

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch/postgres"
)

// codePattern matches the access code of a status link (?code=…; see Config.AccessURL), up
// to the next space, & or end: what RedactAccessCodes takes out. The partial indexes of the
// texts still to redact (migration 20261129000300) repeat it in their condition, so that
// the hourly redaction reads only those: change both (TestRedactAccessCodes checks).
const codePattern = `(\?code=)[A-Za-z0-9%]+`

// RedactAccessCodes takes the access code out of the status links of the texts sent (or
// given up) before before, and of the stored answers to inbound texts received before it,
// and returns how many rows it changed. Only a hash of a report's code is kept with the
// report; the folio text that carried the code in clear is needed until it is sent, and an
// inbound answer until Twilio can no longer redeliver the text it answers (minutes), but
// kept beyond that they would open every report's page to whoever reads the tables. serve
// runs it hourly for what is a day old. The link stays, ending in "?code=…".
func RedactAccessCodes(ctx context.Context, db bun.IDB, before time.Time) (int64, error) {
	var n int64
	for _, q := range []string{
		`UPDATE sms_outbox SET body = regexp_replace(body, ?, '\1…', 'g')
		 WHERE state IN ('sent', 'failed', 'cancelled', 'skipped') AND updated_at < ? AND body ~ ?`,
		`UPDATE sms_inbound SET reply = regexp_replace(reply, ?, '\1…', 'g')
		 WHERE received_at < ? AND reply ~ ?`,
	} {
		res, err := db.ExecContext(ctx, q, codePattern, before, codePattern)
		if err != nil {
			return n, postgres.Wrap(err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
