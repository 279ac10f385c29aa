package web

import (
	"net/url"
	"strconv"
	"strings"

	"despacho/dispatch"
)

// The query parameters that the staff lists (reports, visits) read alike.

// commaList reads query parameter name, a comma-separated list, each value (trimmed) parsed
// by parse, which is given name as the field of an invalid one; absent, the list is nil.
func commaList[T any](q url.Values, name string, parse func(field, s string) (T, error)) ([]T, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	var out []T
	for _, part := range strings.Split(v, ",") {
		x, err := parse(name, strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// pageLimit reads a list's page size, query parameter limit: 1 to 100 (else 422 limit), 50
// when it is absent.
func pageLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, dispatch.Invalid("limit", "must be 1 to 100")
	}
	return n, nil
}
