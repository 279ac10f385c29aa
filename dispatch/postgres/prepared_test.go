package postgres

import "testing"

func TestDollarPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"SELECT ?0, ?1::text, ?10", "SELECT $1, $2::text, $11", ""},
		{"SELECT '?0', \"a?1\", ?2", "SELECT '?0', \"a?1\", $3", ""},
		{"SELECT ?0 WHERE x = ?", "", "bare ?"},
	} {
		got, err := dollarPlaceholders(c.in)
		if c.err != "" {
			if err == nil {
				t.Errorf("%q: no error, want one about %s", c.in, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if got := numbered("VALUES (?, ?::jsonb, ?7)", 3); got != "VALUES (?3, ?4::jsonb, ?7)" {
		t.Errorf("numbered = %q", got)
	}
}
