// Package lang chooses the language a page is shown in: Spanish (es-MX), the
// product's default, or English. The staff and customer pages and the
// development SMS outbox choose it the same way, so a visitor who picked
// English once sees English everywhere.
package lang

import (
	"net/http"

	"golang.org/x/text/language"
)

// Code is a language the pages are written in.
type Code string

// The languages of the pages; Spanish is the default.
const (
	ES Code = "es"
	EN Code = "en"
)

// Cookie names the cookie that remembers the language a visitor chose with ?lang=.
const Cookie = "despacho_lang"

var matcher = language.NewMatcher([]language.Tag{language.Spanish, language.English})

// Pick chooses the language of a page: ?lang= (remembered in a cookie), then the cookie,
// then Accept-Language, then Spanish. It sets the cookie when ?lang= names a language.
func Pick(w http.ResponseWriter, r *http.Request) Code {
	if q := Code(r.URL.Query().Get("lang")); q == ES || q == EN {
		http.SetCookie(w, &http.Cookie{Name: Cookie, Value: string(q), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
		return q
	}
	if c, err := r.Cookie(Cookie); err == nil && (Code(c.Value) == ES || Code(c.Value) == EN) {
		return Code(c.Value)
	}
	if al := r.Header.Get("Accept-Language"); al != "" && len(al) < 500 {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := matcher.Match(tags...)
			if conf != language.No && i == 1 {
				return EN
			}
		}
	}
	return ES
}
