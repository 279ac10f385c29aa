package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// prepared runs the statements of the hot paths (report creation and its hooks, the
// session lookup) as server-side prepared statements, one per pooled connection, so that
// PostgreSQL parses, analyses and plans each of them once per connection instead of on every
// request. Sampled with perf under `bench tickets`, parsing, analysis and planning were about
// 40 % of PostgreSQL's CPU per report when every statement went as simple-protocol text.
//
// Queries are written with bun's positional placeholders (?0, ?1, …), which prepared turns
// into $1, $2, …; PostgreSQL infers each parameter's type from where it is used, so a
// parameter whose type the context does not fix needs a cast (?3::text). A connection
// replaced after a PostgreSQL restart prepares the statement again on first use
// (database/sql keeps track of which connection has what).
type prepared struct {
	db *sql.DB

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
}

func newPrepared(db *bun.DB) *prepared {
	return &prepared{db: db.DB, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// cached returns the pool-wide statement for query, or nil when it has not been prepared yet.
func (p *prepared) cached(query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmts[query]
}

// prepare makes the pool-wide statement for query. It needs a free pooled connection, so it
// must not be waited for by a caller holding a transaction: with every connection held by
// such callers it would wait for ever.
func (p *prepared) prepare(ctx context.Context, query, text string) (*sql.Stmt, error) {
	s, err := p.db.PrepareContext(ctx, text)
	if err != nil {
		return nil, Wrap(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.stmts[query]; ok {
		s.Close()
		return old, nil
	}
	p.stmts[query] = s
	return s, nil
}

// scan runs query with args inside tx (or on the pool when tx is nil) and scans its rows
// into dest as bun's ScanRows does. Unlike bun's Scan, no row is not sql.ErrNoRows: scan
// into a slice when the query may find nothing. The first run of
// a query inside a transaction prepares it on the transaction's connection for that run
// only, and has the pool-wide statement prepared in the background.
func (p *prepared) scan(ctx context.Context, db *bun.DB, tx *bun.Tx, query string, args []any, dest ...any) error {
	s := p.cached(query)
	if s == nil {
		text, err := dollarPlaceholders(query)
		if err != nil {
			return err
		}
		if tx == nil {
			if s, err = p.prepare(ctx, query, text); err != nil {
				return err
			}
		} else {
			p.mu.Lock()
			if !p.pending[query] {
				p.pending[query] = true
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					_, err := p.prepare(ctx, query, text)
					p.mu.Lock()
					delete(p.pending, query)
					p.mu.Unlock()
					_ = err // the next run tries again
				}()
			}
			p.mu.Unlock()
			if s, err = tx.Tx.PrepareContext(ctx, text); err != nil {
				return Wrap(err)
			}
			defer s.Close()
			tx = nil
		}
	}
	if tx != nil {
		s = tx.Tx.StmtContext(ctx, s)
		defer s.Close()
	}
	rows, err := s.QueryContext(ctx, args...)
	if err != nil {
		return Wrap(err)
	}
	defer rows.Close()
	if err := db.ScanRows(ctx, rows, dest...); err != nil {
		return Wrap(err)
	}
	return Wrap(rows.Err())
}

// dollarPlaceholders rewrites bun's ?N placeholders into PostgreSQL's $N+1, leaving
// question marks inside string literals and quoted identifiers alone. A bare ? (bun's
// sequential placeholder) is refused: a prepared statement needs explicit positions.
func dollarPlaceholders(q string) (string, error) {
	var b strings.Builder
	b.Grow(len(q) + 16)
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j == i+1 {
				return "", fmt.Errorf("prepared statement with a bare ? at offset %d: use ?N", i)
			}
			n, _ := strconv.Atoi(q[i+1 : j])
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n + 1))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// appendRecord appends model's values to buf as one JSON object by column, for a
// statement that inserts rows from jsonb_populate_recordset, and returns the columns of
// model's table. Values are stored as bun's INSERT stores them (a nullzero field holding
// its zero value and a nil pointer, slice or map are null, a jsonb field is nested JSON),
// bytea as PostgreSQL's hex text, and times cut to the microsecond as PostgreSQL keeps
// them.
func appendRecord(buf []byte, db *bun.DB, model any) (cols []string, out []byte, err error) {
	v := reflect.Indirect(reflect.ValueOf(model))
	t := db.Table(v.Type())
	buf = append(buf, '{')
	for i, f := range t.Fields {
		name := string(f.Name)
		cols = append(cols, name)
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, name) // column names are plain ASCII identifiers
		buf = append(buf, ':')
		fv := f.Value(v)
		var a any
		switch {
		case f.NullZero && f.HasZeroValue(v):
		case (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.IsNil():
		case f.UserSQLType == "jsonb" || f.UserSQLType == "json":
			b, err := json.Marshal(fv.Interface())
			if err != nil {
				return nil, nil, fmt.Errorf("%s.%s: %w", t.Name, f.Name, err)
			}
			buf = append(buf, b...)
			continue
		default:
			switch x := reflect.Indirect(fv).Interface().(type) {
			case []byte:
				a = `\x` + hex.EncodeToString(x)
			case time.Time:
				a = x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
			case driver.Valuer:
				if a, err = x.Value(); err != nil {
					return nil, nil, fmt.Errorf("%s.%s: %w", t.Name, f.Name, err)
				}
			default:
				a = x
			}
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.%s: %w", t.Name, f.Name, err)
		}
		buf = append(buf, b...)
	}
	return cols, append(buf, '}'), nil
}

// numbered turns each bare ? of q into ?N, counting from first; ?N already numbered are
// left alone.
func numbered(q string, first int) string {
	var b strings.Builder
	n := first
	for i := 0; i < len(q); i++ {
		b.WriteByte(q[i])
		if q[i] == '?' && (i+1 >= len(q) || q[i+1] < '0' || q[i+1] > '9') {
			b.WriteString(strconv.Itoa(n))
			n++
		}
	}
	return b.String()
}

// Statements runs the statements of a hot path as prepared statements for code outside
// this package (the SMS outbox's event hook): what the stores here do through prepared.
// Make one per database handle at wiring time and share it.
type Statements struct {
	db *bun.DB
	p  *prepared
}

// NewStatements returns the prepared-statement runner on db.
func NewStatements(db *bun.DB) *Statements { return &Statements{db: db, p: newPrepared(db)} }

// Scan runs query (bun ?N placeholders, parameters cast where their type is not fixed by
// where they are used) with args inside tx and scans its rows into dest as bun's ScanRows
// does: no row is not an error, so scan into a slice when the query may find nothing.
func (s *Statements) Scan(ctx context.Context, tx bun.Tx, query string, args []any, dest ...any) error {
	return s.p.scan(ctx, s.db, &tx, query, args, dest...)
}
