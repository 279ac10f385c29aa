package dispatch

import "testing"

func TestCustomerInput(t *testing.T) {
	t.Parallel()
	price := func(v float64) *float64 { return &v }
	lat, lon := 19.43, -99.13
	cases := []struct {
		in    CustomerInput
		field string // "" = valid
	}{
		{CustomerInput{Name: "Ana", Phone: "55 1234 5678"}, ""},
		{CustomerInput{Name: "Ana", Email: "ana@example.mx", Language: "EN"}, ""},
		{CustomerInput{Name: "Ana", Phone: "55 1234 5678", PlanPrice: price(349.999)}, ""},
		{CustomerInput{Name: "", Phone: "55 1234 5678"}, "customer.name"},
		{CustomerInput{Name: "Ana"}, "customer.phone"},
		{CustomerInput{Name: "Ana", Phone: "123"}, "customer.phone"},
		{CustomerInput{Name: "Ana", Email: "ana"}, "customer.email"},
		{CustomerInput{Name: "Ana", Email: "Ana <ana@example.mx>"}, "customer.email"},
		{CustomerInput{Name: "Ana", Phone: "55 1234 5678", Language: "fr"}, "customer.language"},
		{CustomerInput{Name: "Ana", Phone: "55 1234 5678", PlanPrice: price(-1)}, "customer.plan_price"},
		{CustomerInput{Name: "A\x00na", Phone: "55 1234 5678"}, "customer.name"},
	}
	for _, c := range cases {
		got, err := c.in.Customer("customer")
		if f := fieldOfOrEmpty(err); f != c.field {
			t.Errorf("Customer(%+v) error field %q (%v), want %q", c.in, f, err, c.field)
		}
		if err == nil && c.in.PlanPrice != nil && *got.PlanPrice != 350 {
			t.Errorf("plan price %v, want 350 (rounded to centavos)", *got.PlanPrice)
		}
	}
	addr := []struct {
		in    *AddressInput
		field string
		none  bool
	}{
		{nil, "", true},
		{&AddressInput{}, "", true},
		{&AddressInput{Line: "Calle 1", Lat: &lat, Lon: &lon}, "", false},
		{&AddressInput{Line: "Calle 1"}, "", false},
		{&AddressInput{Lat: &lat, Lon: &lon}, "address.line", false},
		{&AddressInput{Line: "Calle 1", Lat: &lat}, "address.lon", false},
		{&AddressInput{Line: "Calle 1", Lat: &lon, Lon: &lat}, "address.lat", false},
	}
	for _, a := range addr {
		l, err := a.in.Location("address")
		if f := fieldOfOrEmpty(err); f != a.field || (err == nil && (l == nil) != a.none) {
			t.Errorf("Location(%+v) = %+v, %v; want field %q, none %v", a.in, l, err, a.field, a.none)
		}
	}
}

func fieldOfOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return fieldOf(err)
}
