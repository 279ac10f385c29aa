package twiliotest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"despacho/notify/twiliotest"
)

func post(t *testing.T, s *twiliotest.Server, user, pass string, form url.Values) (int, twiliotest.Error) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e twiliotest.Error
	_ = json.Unmarshal(b, &e)
	return res.StatusCode, e
}

func TestValidation(t *testing.T) {
	t.Parallel()
	s := twiliotest.New()
	defer s.Close()
	s.Unsubscribe("+5215511111111")
	ok := url.Values{"To": {"+5215522222222"}, "From": {"+525500000000"}, "Body": {"hola"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for a, b := range ok {
			f[a] = b
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tt := range []struct {
		name         string
		user, pass   string
		form         url.Values
		status, code int
	}{
		{"bad auth", s.AccountSID, "nope", ok, 401, 20003},
		{"no To", s.AccountSID, s.AuthToken, with("To", ""), 400, 21604},
		{"To not E.164", s.AccountSID, s.AuthToken, with("To", "55 1234 5678"), 400, 21211},
		{"no From", s.AccountSID, s.AuthToken, with("From", ""), 400, 21603},
		{"empty Body", s.AccountSID, s.AuthToken, with("Body", ""), 400, 21602},
		{"Body too long", s.AccountSID, s.AuthToken, with("Body", strings.Repeat("ñ", 1601)), 400, 21617},
		{"unsubscribed", s.AccountSID, s.AuthToken, with("To", "+5215511111111"), 400, 21610},
		{"1600 characters", s.AccountSID, s.AuthToken, with("Body", strings.Repeat("ñ", 1600)), 201, 0},
		{"messaging service", s.AccountSID, s.AuthToken, with("From", "MG123"), 201, 0},
	} {
		if tt.name == "messaging service" {
			tt.form.Del("From")
			tt.form.Set("MessagingServiceSid", "MG123")
		}
		status, e := post(t, s, tt.user, tt.pass, tt.form)
		if status != tt.status || e.Code != tt.code || (tt.code != 0 && (e.Status != tt.status || e.MoreInfo == "")) {
			t.Errorf("%s: %d %+v; want %d with code %d", tt.name, status, e, tt.status, tt.code)
		}
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("%d messages accepted; want 2", n)
	}
	s.FailNext(429, 500)
	for _, want := range []int{429, 500, 201} {
		if status, _ := post(t, s, s.AccountSID, s.AuthToken, ok); status != want {
			t.Errorf("after FailNext: %d; want %d", status, want)
		}
	}
}

// TestSignatureMatchesTwilioGo checks the fake signs as Twilio does, with twilio-go's own
// validator.
func TestSignatureMatchesTwilioGo(t *testing.T) {
	t.Parallel()
	params := url.Values{"MessageSid": {"SM1"}, "Body": {"Sí, confirmo"}, "From": {"+5215512345678"}}
	u := "https://despacho.example.mx/twilio/inbound"
	sig := twiliotest.Signature("token123", u, params)
	m := map[string]string{}
	for k, v := range params {
		m[k] = v[0]
	}
	v := twclient.NewRequestValidator("token123")
	if !v.Validate(u, m, sig) {
		t.Error("twilio-go rejects the fake's signature")
	}
	if v.Validate(u+"x", m, sig) {
		t.Error("twilio-go accepts the signature for another URL")
	}
}
