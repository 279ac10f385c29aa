package dispatch

import (
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for phone numbers written without a country code.
const DefaultRegion = "MX"

// NormalizePhone parses a phone number written in any common form ("55 1234 5678",
// "+52 1 55 1234 5678", "044 55 1234 5678", "(55) 1234-5678") and returns it in E.164
// (+525512345678). Numbers without a country code are Mexican. The old mobile forms — a 1
// after +52, or the 044/045 prefixes — are rewritten to today's ten-digit numbering, which
// phonenumbers alone refuses. field names the input in errors (e.g. "customer.phone").
func NormalizePhone(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "is required")
	}
	if len(s) > 40 {
		return "", Invalid(field, "is too long for a phone number")
	}
	for _, r := range s {
		if !(unicode.IsDigit(r) || strings.ContainsRune("+-(). /", r)) || r > unicode.MaxASCII {
			return "", Invalid(field, "is not a phone number")
		}
	}
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	plus := strings.HasPrefix(s, "+")
	d := string(digits)
	switch {
	case plus && strings.HasPrefix(d, "521") && len(d) == 13:
		d = "52" + d[3:] // +52 1 55 1234 5678
		s = "+" + d
	case !plus && strings.HasPrefix(d, "00521") && len(d) == 15:
		s = "+52" + d[5:]
	case !plus && (strings.HasPrefix(d, "044") || strings.HasPrefix(d, "045")) && len(d) == 13:
		s = d[3:] // 044 55 1234 5678 (local), 045 (long distance)
	case !plus && strings.HasPrefix(d, "01") && len(d) == 12:
		s = d[2:] // 01 + ten digits: the old long-distance prefix
	}
	n, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", Invalid(field, "is not a valid phone number")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// NormalizePersonalPhone is NormalizePhone for the number of a person — a customer, whose
// texts go there, or a technician: a toll-free, premium-rate, shared-cost or other service
// number reaches nobody (an 800 number is usually the provider's own line, copied from the
// caller ID of a transferred call) and is refused, naming the field. Mexico does not tell
// fixed lines from mobiles, so both are kept, as are numbers abroad of either kind.
func NormalizePersonalPhone(field, s string) (string, error) {
	e164, err := NormalizePhone(field, s)
	if err != nil {
		return "", err
	}
	n, err := phonenumbers.Parse(e164, DefaultRegion)
	if err != nil {
		return "", Invalid(field, "is not a valid phone number")
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.PERSONAL_NUMBER:
		return e164, nil
	case phonenumbers.TOLL_FREE:
		return "", Invalid(field, "is a toll-free number: it reaches no person")
	case phonenumbers.PREMIUM_RATE:
		return "", Invalid(field, "is a premium-rate number: it reaches no person")
	}
	return "", Invalid(field, "is a service number, not a person's phone")
}

// DisplayPhone writes an E.164 number as it is dialled in Mexico ("55 1234 5678",
// "800 123 4567"), or in international form for another country; what it cannot parse it
// returns as it is.
func DisplayPhone(e164 string) string {
	n, err := phonenumbers.Parse(e164, DefaultRegion)
	if err != nil {
		return e164
	}
	if phonenumbers.GetRegionCodeForNumber(n) == DefaultRegion {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}
