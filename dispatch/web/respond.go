package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"despacho/dispatch"
)

// MaxBody is the largest request body accepted (HTTP 413 beyond it).
const MaxBody = 1 << 20

// errorBody is the contract's error shape: {"error": {"code","message","field"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// statusOf maps an error kind to its HTTP status: the one place where this happens.
func statusOf(k dispatch.Kind) int {
	switch k {
	case dispatch.KindInvalid:
		return http.StatusUnprocessableEntity
	case dispatch.KindMalformed:
		return http.StatusBadRequest
	case dispatch.KindNotFound:
		return http.StatusNotFound
	case dispatch.KindConflict:
		return http.StatusConflict
	case dispatch.KindForbidden:
		return http.StatusForbidden
	case dispatch.KindUnauthenticated:
		return http.StatusUnauthorized
	case dispatch.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case dispatch.KindRateLimited:
		return http.StatusTooManyRequests
	case dispatch.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteError writes err as the contract's JSON error. Internal errors are logged with the
// request id and shown to the client only as "internal".
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var de *dispatch.Error
	if r.Context().Err() != nil && !errors.As(err, &de) {
		// The client went away mid-request (its transaction was rolled back): not a
		// fault of ours. 499, as proxies log it; nobody reads the body.
		log.InfoContext(r.Context(), "client closed the request", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", RequestID(r.Context()))
		WriteJSON(w, StatusClientClosed, errorBody{Error: errorDetail{Code: "client_closed", Message: "the client closed the request"}})
		return
	}
	if !errors.As(err, &de) {
		log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", RequestID(r.Context()))
		de = &dispatch.Error{Kind: "", Code: "internal", Message: "internal error; quote request id " + RequestID(r.Context())}
	} else if de.Kind == dispatch.KindUnavailable {
		log.WarnContext(r.Context(), "dependency unavailable", "err", err, "path", r.URL.Path, "request_id", RequestID(r.Context()))
		w.Header().Set("Retry-After", "2")
	} else if de.RetryAfter > 0 {
		// A client that backs off by the standard header waits as long as the message says.
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(de.RetryAfter.Seconds()))))
	}
	WriteJSON(w, statusOf(de.Kind), errorBody{Error: errorDetail{Code: de.Code, Message: de.Message, Field: de.Field}})
}

// StatusClientClosed is the status recorded for a request its client abandoned (nginx's 499).
const StatusClientClosed = 499

// WriteJSON writes v as JSON with the given status. Unless the handler said otherwise, the
// answer is not to be stored: the API's answers hold customers' names, phones, addresses and
// access codes, which a browser's or proxy's cache would keep on a shared desk computer.
//
// v is encoded before the status is written: a value JSON cannot carry (a time past year
// 9999) is a 500 in the contract's error shape, logged, rather than the status promised
// with an empty or cut body, which a client would take for success.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Error("cannot encode an answer", "err", err, "status", status)
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(errorBody{Error: errorDetail{Code: "internal", Message: "internal error: the answer could not be encoded"}})
	}
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// DecodeJSON reads a JSON object from r's body into v: at most MaxBody bytes (413 beyond),
// one value, nothing after it. Syntax errors are 400; a value of the wrong type is 422 naming
// the field.
func DecodeJSON(r *http.Request, v any) error { return decodeJSON(r, v, false) }

// DecodeJSONStrict is DecodeJSON for documents replaced whole (the business calendar): a
// field v does not have is 422 naming it, rather than silently dropped, so that a
// misspelt field never stores a document without what it meant to say.
func DecodeJSONStrict(r *http.Request, v any) error { return decodeJSON(r, v, true) }

func decodeJSON(r *http.Request, v any, strict bool) error {
	if !jsonMediaType(r.Header.Get("Content-Type")) {
		return &dispatch.Error{Kind: dispatch.KindMalformed, Code: "unsupported_media_type", Message: "Content-Type must be application/json"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		return decodeError(err)
	}
	// A byte order mark, which Windows tools write before UTF-8 text, is no JSON; RFC 8259
	// lets a reader ignore it, and the document after it is read as sent.
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	var dec *json.Decoder
	// Each whole number mended costs a decoding of the body again: a few are what a client
	// writes (a duration, a version, a week's weekdays), not thousands.
	for range 8 {
		dec = json.NewDecoder(bytes.NewReader(b))
		if strict {
			dec.DisallowUnknownFields()
		}
		err = dec.Decode(v)
		fixed, ok := wholeNumber(b, err)
		if !ok {
			break
		}
		b = fixed
		reflect.ValueOf(v).Elem().SetZero()
	}
	if err == nil {
		if dec.More() {
			return dispatch.Malformed("body must hold exactly one JSON value")
		}
		return nil
	}
	if !selfDecoded(err) {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			// encoding/json names a field inside an array without its index
			// ("shifts.weekday"): the body is walked again to find which element.
			if p := indexedPath(b, reflect.TypeOf(v), jsonPath(typeErr.Field)); p != "" {
				return typeError(typeErr, p)
			}
		}
		return decodeError(err)
	}
	// A value that decodes itself (a time, an amount) failed; encoding/json does not say
	// where, so the body is walked again along v's type to name the field.
	path, ferr := selfDecodedField(b, reflect.TypeOf(v))
	var de *dispatch.Error
	switch {
	case path == "":
		return dispatch.Malformed("a value could not be read: %v", ferr)
	case errors.As(ferr, &de):
		return &dispatch.Error{Kind: de.Kind, Code: de.Code, Message: de.Message, Field: path}
	case isTimeError(ferr):
		return dispatch.Invalid(path, "must be a date and time in RFC 3339, with its offset (e.g. 2026-11-28T10:00:00-06:00)")
	}
	return dispatch.Invalid(path, "is not valid: %v", ferr)
}

// jsonMediaType reports whether a request's Content-Type is JSON's (or absent): the media
// type compared whole and regardless of case, as RFC 9110 has it ("Application/JSON;
// charset=UTF-8" is JSON, "application/jsonp" is not); its parameters are not looked at.
func jsonMediaType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == "application/json"
}

// wholeNumber mends body after err, encoding/json's refusal of a number written with a
// fraction or an exponent (60.0, 6e1) for a whole-number field, when its value is whole:
// it returns body with that number written as an integer, and true. Python writes a float
// so (json.dumps(1.5 * 40) is "60.0"), and 60.0 minutes is a whole number of minutes.
// Numbers that are not whole, or beyond 2^53, stay refused.
func wholeNumber(body []byte, err error) ([]byte, bool) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Type == nil || !strings.HasPrefix(te.Value, "number ") {
		return nil, false
	}
	switch te.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return nil, false
	}
	lit := strings.TrimPrefix(te.Value, "number ")
	end := int(te.Offset)
	start := end - len(lit)
	if !strings.ContainsAny(lit, ".eE") || start < 0 || end > len(body) || string(body[start:end]) != lit {
		return nil, false
	}
	f, perr := strconv.ParseFloat(lit, 64)
	if perr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil, false
	}
	whole := strconv.FormatFloat(f, 'f', -1, 64)
	return slices.Concat(body[:start], []byte(whole), body[end:]), true
}

var timeType = reflect.TypeFor[time.Time]()

// selfDecoded reports whether err came from a value's own UnmarshalJSON rather than from
// encoding/json.
func selfDecoded(err error) bool {
	var de *dispatch.Error
	return isTimeError(err) || errors.As(err, &de)
}

// isTimeError reports whether err is time.Time's refusal of a JSON value.
func isTimeError(err error) bool {
	var pe *time.ParseError
	return errors.As(err, &pe) || strings.HasPrefix(err.Error(), "Time.UnmarshalJSON")
}

// selfDecodedField walks body, a JSON document that failed to decode into a value of type
// t, along t, and returns the JSON path of the first value whose type decodes itself
// (json.Unmarshaler: time.Time, dispatch.Centavos) and refuses it, with its error; "" when
// none does.
func selfDecodedField(body []byte, t reflect.Type) (string, error) {
	return walkBody(body, t, func(doc any, t reflect.Type, _ string) (bool, error) {
		if !reflect.PointerTo(t).Implements(unmarshalerType) {
			return false, nil
		}
		raw, err := json.Marshal(doc)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		}
		return err != nil, err
	})
}

// indexedPath walks body, a JSON document that failed to decode into a value of type t
// because the value at field has the wrong JSON type, and returns the path of the first
// such value as sent, with its array indices and map keys ("shifts[2].weekday"); "" when
// none is found. field is encoding/json's name for it (jsonPath of the error's Field):
// the struct fields' JSON names, without indices or map keys ("shifts.weekday").
func indexedPath(body []byte, t reflect.Type, field string) string {
	if field == "" {
		return ""
	}
	path, _ := walkBody(body, t, func(doc any, t reflect.Type, canon string) (bool, error) {
		return canon == field && !reflect.PointerTo(t).Implements(unmarshalerType) && !fitsJSON(doc, t), nil
	})
	return path
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// walkBody decodes body (numbers kept as sent) and walks it along type t as encoding/json
// decodes it, asking stop at each value present: stop gets the value, its Go type and
// encoding/json's name for its place (struct fields' JSON names, without indices or map
// keys: "shifts.weekday"). walkBody returns the place as sent ("shifts[2].weekday") of the
// first value stop stops at, with stop's error; "" when none. A value whose type decodes
// itself (json.Unmarshaler) is not walked into.
func walkBody(body []byte, t reflect.Type, stop func(doc any, t reflect.Type, canon string) (bool, error)) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers re-encode exactly as sent
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", err
	}
	return walkJSON(doc, t, "", "", stop)
}

// walkJSON is walkBody below doc, of type t, found at path as sent; canon is encoding/json's
// name for path.
func walkJSON(doc any, t reflect.Type, path, canon string, stop func(any, reflect.Type, string) (bool, error)) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if doc == nil {
		return "", nil
	}
	if halt, err := stop(doc, t, canon); halt {
		return path, err
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "", nil
	}
	join := func(p, k string) string {
		if p == "" {
			return k
		}
		return p + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := doc.(map[string]any)
		if !ok {
			return "", nil
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			if f.Anonymous && name == "" {
				if p, err := walkJSON(doc, f.Type, path, canon, stop); p != "" {
					return p, err
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			for _, k := range slices.Sorted(maps.Keys(m)) {
				// encoding/json matches a key to a field regardless of case.
				if strings.EqualFold(k, name) {
					if p, err := walkJSON(m[k], f.Type, join(path, k), join(canon, name), stop); p != "" {
						return p, err
					}
				}
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := doc.([]any)
		if !ok {
			return "", nil
		}
		for i, x := range a {
			if p, err := walkJSON(x, t.Elem(), fmt.Sprintf("%s[%d]", path, i), canon, stop); p != "" {
				return p, err
			}
		}
	case reflect.Map:
		m, ok := doc.(map[string]any)
		if !ok {
			return "", nil
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if p, err := walkJSON(m[k], t.Elem(), join(path, k), canon, stop); p != "" {
				return p, err
			}
		}
	}
	return "", nil
}

// fitsJSON reports whether encoding/json would decode JSON value doc (as decoded with
// UseNumber) into a value of type t without a type error.
func fitsJSON(doc any, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.String:
		_, ok := doc.(string)
		return ok
	case reflect.Bool:
		_, ok := doc.(bool)
		return ok
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := doc.(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		return ok && err == nil && !reflect.New(t).Elem().OverflowInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := doc.(json.Number)
		u, err := strconv.ParseUint(string(n), 10, 64)
		return ok && err == nil && !reflect.New(t).Elem().OverflowUint(u)
	case reflect.Float32, reflect.Float64:
		n, ok := doc.(json.Number)
		f, err := strconv.ParseFloat(string(n), 64)
		return ok && err == nil && !reflect.New(t).Elem().OverflowFloat(f)
	case reflect.Slice:
		if _, ok := doc.(string); ok && t.Elem().Kind() == reflect.Uint8 {
			return true // []byte is sent as base64
		}
		_, ok := doc.([]any)
		return ok
	case reflect.Array:
		_, ok := doc.([]any)
		return ok
	case reflect.Struct, reflect.Map:
		_, ok := doc.(map[string]any)
		return ok
	}
	return true
}

func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return &dispatch.Error{Kind: dispatch.KindTooLarge, Code: "body_too_large", Message: fmt.Sprintf("body is larger than %d bytes", MaxBody)}
	case errors.Is(err, io.EOF):
		return dispatch.Malformed("body is empty; a JSON object is expected")
	case errors.As(err, &typeErr):
		return typeError(typeErr, jsonPath(typeErr.Field))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return dispatch.Malformed("malformed JSON: %v", err)
	case strings.HasPrefix(err.Error(), `json: unknown field "`):
		// encoding/json has no type for it; the message is `json: unknown field "name"`.
		name := strings.TrimSuffix(strings.TrimPrefix(err.Error(), `json: unknown field "`), `"`)
		if len(name) > 100 || !utf8.ValidString(name) {
			name = strings.ToValidUTF8(name[:min(len(name), 100)], "") + "…"
		}
		return &dispatch.Error{Kind: dispatch.KindInvalid, Code: "unknown_field", Field: name, Message: "is not a field of this document"}
	}
	return dispatch.Malformed("malformed JSON: %v", err)
}

// typeError is the answer to a value of the wrong JSON type at field: 422 naming it, or 400
// when the body itself is no object.
func typeError(typeErr *json.UnmarshalTypeError, field string) error {
	if field == "" {
		return dispatch.Malformed("body must be a JSON object")
	}
	switch k := typeErr.Type.Kind(); {
	case k >= reflect.Int && k <= reflect.Uint64 && strings.HasPrefix(typeErr.Value, "number "):
		// A number, but not one the field holds: 60.5 for a whole number, or beyond its
		// range (whole numbers written as 60.0 or 1e3 were mended, wholeNumber).
		if strings.ContainsAny(strings.TrimPrefix(typeErr.Value, "number "), ".eE") {
			return dispatch.Invalid(field, "must be a whole number")
		}
		return dispatch.Invalid(field, "is out of range")
	}
	return dispatch.Invalid(field, "must be a JSON %s", jsonKind(typeErr.Type.Kind().String()))
}

// jsonPath is the JSON path of a decoding error's field: encoding/json names a field of an
// embedded struct through the struct's Go name ("CalendarDocument.exceptions"), which the
// client never wrote; the API's JSON names are lower case, so capitalised parts go.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && !unicode.IsUpper([]rune(p)[0]) {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}
