package dispatch

import (
	"errors"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	good := []struct{ in, want string }{
		{"55 1234 5678", "+525512345678"},
		{"(55) 1234-5678", "+525512345678"},
		{"5512345678", "+525512345678"},
		{"+52 55 1234 5678", "+525512345678"},
		{"+52 1 55 1234 5678", "+525512345678"},
		{"+5215512345678", "+525512345678"},
		{"044 55 1234 5678", "+525512345678"},
		{"045 33 1234 5678", "+523312345678"},
		{"01 81 1234 5678", "+528112345678"},
		{"00 52 1 55 1234 5678", "+525512345678"},
		{"+1 415 555 2671", "+14155552671"},
		{"  +52 (998) 123.4567 ", "+529981234567"},
	}
	for _, tt := range good {
		got, err := NormalizePhone("customer.phone", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []string{"", "12", "hola", "55-1234-567", "+52 55 1234 56789 0", "5512345678 ext 2", "+999 1234 5678", "５５１２３４５６７８"}
	for _, in := range bad {
		got, err := NormalizePhone("customer.phone", in)
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Field != "customer.phone" || e.Kind != KindInvalid {
			t.Errorf("NormalizePhone(%q) = %q, %v; want an invalid customer.phone", in, got, err)
		}
	}
}

// A customer's phone is where his texts go: a toll-free or premium number (often the
// provider's own line, copied from the caller ID of a transferred call) reaches no person
// and is refused, naming the field; fixed lines and mobiles are kept.
func TestCustomerPhoneReachesAPerson(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"800 123 4567", "01 800 123 4567", "+52 800 123 4567", "900 123 4567", "+1 800 555 0199"} {
		c, err := CustomerInput{Name: "Ana", Phone: in}.Customer("customer")
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Field != "customer.phone" || e.Kind != KindInvalid {
			t.Errorf("customer phone %q = %+v, %v; want an invalid customer.phone", in, c, err)
		}
	}
	for in, want := range map[string]string{"55 1234 5678": "+525512345678", "+1 415 555 2671": "+14155552671"} {
		c, err := CustomerInput{Name: "Ana", Phone: in}.Customer("customer")
		if err != nil || c.Phone != want {
			t.Errorf("customer phone %q = %+v, %v; want %s", in, c, err, want)
		}
	}
}
