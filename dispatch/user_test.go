package dispatch_test

import (
	"errors"
	"strings"
	"testing"

	"despacho/dispatch"
)

// TestNewUserRules: NewUser took a@b (no dot in the domain) and any name of 200 bytes
// without looking at what was in it, where customers' e-mails (NormalizeEmail) refused
// a@b; a user's e-mail and name now hold the one rule, field by field.
func TestNewUserRules(t *testing.T) {
	t.Parallel()
	bad := []struct{ email, name, field string }{
		{"a@b", "Ana", "email"},
		{"ana@localhost", "Ana", "email"},
		{"Ana <ana@example.mx>", "Ana", "email"},
		{"no es correo", "Ana", "email"},
		{"   ", "Ana", "email"},
		{strings.Repeat("a", 250) + "@example.mx", "Ana", "email"},
		{"ana@example.mx", "  ", "name"},
		{"ana@example.mx", "Ana\x1b[2J", "name"},
		{"ana@example.mx", "Ana\nBorrar", "name"},
		{"ana@example.mx", "Ana\u2028Borrar", "name"},
		{"ana@example.mx", "Ana\u0085B", "name"},
		{"ana@example.mx", "Ana\xff", "name"},
		{"ana@example.mx", strings.Repeat("ñ", 201), "name"},
	}
	for _, c := range bad {
		_, err := dispatch.NewUser(c.email, c.name, dispatch.RoleAgent, "una-contraseña-larga")
		var de *dispatch.Error
		if !errors.As(err, &de) || dispatch.ErrorKind(err) != dispatch.KindInvalid || de.Field != c.field {
			t.Errorf("NewUser(%q, %q) = %v, want invalid %s", c.email, c.name, err, c.field)
		}
	}
	// 200 characters are 400 bytes here: the limit counts characters.
	long := strings.Repeat("ñ", 200)
	u, err := dispatch.NewUser("  Ana.Gómez@Example.MX ", " "+long+" ", dispatch.RoleAgent, "una-contraseña-larga")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ana.gómez@example.mx" || u.Name != long {
		t.Errorf("NewUser stored %q, %q; want the e-mail trimmed and lower-cased, the name trimmed", u.Email, u.Name)
	}
	if got, err := dispatch.NormalizeEmail("customer.email", "  Ana.Gómez@Example.MX "); err != nil || got != u.Email {
		t.Errorf("NormalizeEmail = %q, %v; want %q, as NewUser stores it", got, err, u.Email)
	}
}

// TestUserNameRule: the name a change gives holds the rule of creation.
func TestUserNameRule(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", " ", "Ana\x00", "Ana\tGómez", "Ana\rB", "Ana\x7f", strings.Repeat("x", 201)} {
		if _, err := dispatch.UserName(s); dispatch.ErrorKind(err) != dispatch.KindInvalid {
			t.Errorf("UserName(%q) = %v, want invalid", s, err)
		}
	}
	if got, err := dispatch.UserName("  Ana Gómez ⚡ "); err != nil || got != "Ana Gómez ⚡" {
		t.Errorf("UserName = %q, %v; want it trimmed", got, err)
	}
}

// TestSignInEmail: sign-in looks an e-mail up in the form it is stored in, and does not
// refuse one that the rule for new addresses refuses (a user stored before it must sign in).
func TestSignInEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{" Ana@Example.MX ": "ana@example.mx", "Viejo@LOCALHOST": "viejo@localhost", "a@b": "a@b"} {
		if got := dispatch.SignInEmail(in); got != want {
			t.Errorf("SignInEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
