package postgres

import (
	"context"
	"sync"
	"time"
)

// rechecked is the cache of a document stored in versions that every instance may replace
// (the SLA policies, the business calendar): the copy read is used for every period long
// enough, and then the database is asked again, for the document only when its version
// changed. Stores embed it; its mu also guards what they keep beside it.
type rechecked[T any] struct {
	every time.Duration
	now   func() time.Time

	mu        sync.Mutex
	cur       *T
	version   int64
	checked   time.Time
	reloading bool // a caller is asking the database; the others use the copy meanwhile
}

// load returns the copy while it is younger than every, else the stored document read
// through read, which returns nil when the stored version is still known. keep (called with
// mu held) makes a newer document the copy; nil sets cur and version. When the database
// cannot be read but a copy was read before, the copy is returned.
func (c *rechecked[T]) load(ctx context.Context, read func(ctx context.Context, known int64) (*T, int64, error), keep func(*T, int64)) (*T, int64, error) {
	c.mu.Lock()
	if c.cur != nil && (c.reloading || c.now().Sub(c.checked) < c.every) {
		cur, v := c.cur, c.version
		c.mu.Unlock()
		return cur, v, nil
	}
	c.reloading = true
	known := c.version
	c.mu.Unlock()

	doc, version, err := read(ctx, known)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.reloading = false
	if err != nil {
		if c.cur != nil {
			return c.cur, c.version, nil
		}
		return nil, 0, err
	}
	c.checked = c.now()
	if doc != nil && version >= c.version {
		c.keepLocked(doc, version, keep)
	}
	return c.cur, c.version, nil
}

// store makes doc, read or written now as version, the copy unless a newer one is known.
func (c *rechecked[T]) store(doc *T, version int64, keep func(*T, int64)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version >= c.version {
		c.keepLocked(doc, version, keep)
		c.checked = c.now()
	}
}

func (c *rechecked[T]) keepLocked(doc *T, version int64, keep func(*T, int64)) {
	if keep != nil {
		keep(doc, version)
		return
	}
	c.cur, c.version = doc, version
}
