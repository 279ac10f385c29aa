package web_test

import (
	"log/slog"
	"net/http"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestWSAfterInvalid: GET /ws?after=abc answered 400 where every other invalid query value
// answers 422 naming its field. Now a value of after that is not the id of a message
// (letters, a negative number, one past int64) is 422 with field "after", before any
// upgrade; the public status feed, which reads after the same way, answers alike.
func TestWSAfterInvalid(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
	_, ts := liveServer(t, db, live.Options{
		FolioAccess: reports.IDForCode,
		// As serve wires it: the API's one mapping of error kinds to statuses.
		WriteError: func(w http.ResponseWriter, r *http.Request, err error) { web.WriteError(w, r, slog.Default(), err) },
	}, web.Config{})
	createUser(t, postgres.NewUsers(db), "despacho@example.mx", dispatch.RoleDispatcher)
	d := staffToken(t, ts.URL, "despacho@example.mx")
	for _, after := range []string{"abc", "-1", "-42", "1.5", "99999999999999999999"} {
		res, b := do(t, "GET", ts.URL+"/ws?after="+after, d, "")
		if code, field := errorCode(t, b); res.StatusCode != 422 || field != "after" || code != "invalid_after" {
			t.Errorf("GET /ws?after=%s = %d %s field %q, want 422 invalid_after field after (%s)", after, res.StatusCode, code, field, b)
		}
	}
	var rep struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/public/reports", "", `{"customer":{"name":"Rosa Pérez","phone":"5512345679"},"address":{"line":"Av. Juárez 10"},"kind":"fault","description":"Sin internet"}`, 201, &rep)
	res, b := do(t, "GET", ts.URL+"/public/reports/"+rep.Folio+"/live?code="+rep.AccessCode+"&after=abc", "", "")
	if _, field := errorCode(t, b); res.StatusCode != 422 || field != "after" {
		t.Errorf("public live feed after=abc = %d %s, want 422 field after", res.StatusCode, b)
	}
}
