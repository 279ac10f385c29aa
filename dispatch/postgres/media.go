package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// Limits of a visit's media, checked by Media.Add (and the photo size again by the table).
const (
	// MaxPhotos is how many photos a visit may have.
	MaxPhotos = 5
	// MaxPhotoBytes is the largest photo accepted: the pages resize to 1280 px JPEG first,
	// which is ~150–300 KB.
	MaxPhotoBytes = 600 << 10
	// MaxSignatureBytes is the largest signature accepted (a PNG of strokes is ~10–40 KB).
	MaxSignatureBytes = 100 << 10
)

// Media kinds.
const (
	MediaPhoto     = "photo"
	MediaSignature = "signature"
)

// MediaItem is one photo or signature of a visit. Body is filled only by Media.Get.
type MediaItem struct {
	VisitID     int64     `json:"visit_id"`
	N           int       `json:"n"`
	Kind        string    `json:"kind"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
	Body        []byte    `json:"-"`
}

// MediaUpload is an upload: ContentType is the sniffed type (image/jpeg or image/png), Body
// the bytes to store as they are (the web layer has already removed the image's metadata,
// so the stored size is the stripped size) and Key the client's key for the file, which
// makes retries safe.
type MediaUpload struct {
	VisitID     int64
	Kind        string
	ContentType string
	Body        []byte
	Key         string
}

// Media stores the photos and the signature of visits in PostgreSQL.
type Media struct {
	db     *bun.DB
	events *Events
}

// NewMedia returns the media store; every upload writes a "visit.media_added" event through
// events (nil: a writer without hooks).
func NewMedia(db *bun.DB, events *Events) *Media {
	if events == nil {
		events = NewEvents()
	}
	return &Media{db: db, events: events}
}

type mediaRow struct {
	bun.BaseModel `bun:"table:visit_media,alias:m"`

	ID          int64     `bun:"id,pk,autoincrement"`
	VisitID     int64     `bun:"visit_id"`
	N           int       `bun:"n"`
	Kind        string    `bun:"kind"`
	ContentType string    `bun:"content_type"`
	Body        []byte    `bun:"body"`
	Size        int       `bun:"size,scanonly"`
	ClientKey   string    `bun:"client_key"`
	UploadedBy  int64     `bun:"uploaded_by,nullzero"`
	CreatedAt   time.Time `bun:"created_at,nullzero,default:now()"`
}

func (r *mediaRow) item() *MediaItem {
	size := r.Size
	if r.Body != nil {
		size = len(r.Body)
	}
	return &MediaItem{VisitID: r.VisitID, N: r.N, Kind: r.Kind, ContentType: r.ContentType, Size: size, CreatedAt: r.CreatedAt.UTC(), Body: r.Body}
}

// mediaStatuses are the visit states in which media may be added: at the address, and after
// the visit while the phone sends what it queued offline.
var mediaStatuses = map[dispatch.VisitStatus]bool{
	dispatch.VisitOnSite: true, dispatch.VisitCompleted: true, dispatch.VisitNotCompleted: true,
}

// Add stores an upload and reports whether it is new. The same Key again for the same visit
// returns the stored item (created false) whatever the body; the Key used for another
// visit is a conflict (key_reused). A visit holds at most MaxPhotos photos (409
// too_many_photos) and one signature (409 signature_exists), and takes media only from
// on_site on (409 visit_not_started). Sizes and types are the caller's to check first; the
// table refuses bodies over MaxPhotoBytes.
func (s *Media) Add(ctx context.Context, m MediaUpload, actor *dispatch.User, now time.Time) (*MediaItem, bool, error) {
	var out *MediaItem
	created := false
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := getVisit(ctx, tx, m.VisitID, true)
		if err != nil {
			return err
		}
		var old mediaRow
		err = tx.NewSelect().Model(&old).Column("visit_id", "n", "kind", "content_type", "created_at").ColumnExpr("octet_length(m.body) AS size").
			Where("client_key = ?", m.Key).Scan(ctx)
		switch {
		case err == nil && old.VisitID == m.VisitID:
			out = old.item()
			return nil
		case err == nil:
			return dispatch.Conflict("key_reused", "this upload key was used for another visit")
		case !errors.Is(err, sql.ErrNoRows):
			return Wrap(err)
		}
		if !mediaStatuses[v.Status] {
			return dispatch.Conflict("visit_not_started", "photos and signature are taken at the address: the visit is %s", v.Status)
		}
		var counts []struct {
			Kind string `bun:"kind"`
			N    int    `bun:"n"`
		}
		if err := tx.NewRaw("SELECT kind, count(*) AS n FROM visit_media WHERE visit_id = ? GROUP BY kind", m.VisitID).Scan(ctx, &counts); err != nil {
			return Wrap(err)
		}
		for _, c := range counts {
			if c.Kind == m.Kind && m.Kind == MediaPhoto && c.N >= MaxPhotos {
				return dispatch.Conflict("too_many_photos", "a visit has at most %d photos", MaxPhotos)
			}
			if c.Kind == m.Kind && m.Kind == MediaSignature {
				return dispatch.Conflict("signature_exists", "the visit already has the customer's signature")
			}
		}
		_, uid := dispatch.ActorOf(actor)
		var by any
		if uid != 0 {
			by = uid
		}
		row := &mediaRow{VisitID: m.VisitID, Kind: m.Kind, ContentType: m.ContentType, Size: len(m.Body), CreatedAt: now.UTC()}
		// The visit row is locked: n cannot be taken twice.
		err = tx.NewRaw(`INSERT INTO visit_media (visit_id, n, kind, content_type, body, client_key, uploaded_by, created_at)
			VALUES (?, (SELECT coalesce(max(n), 0) + 1 FROM visit_media WHERE visit_id = ?), ?, ?, ?, ?, ?, ?) RETURNING n`,
			m.VisitID, m.VisitID, m.Kind, m.ContentType, m.Body, m.Key, by, now).Scan(ctx, &row.N)
		if err != nil {
			return Wrap(err)
		}
		out, created = row.item(), true
		return s.events.Append(ctx, tx, visitEvent(v, "visit.media_added", actor, now), map[string]any{"n": row.N, "kind": row.Kind, "size": len(m.Body)})
	})
	if err != nil && IsUniqueViolation(err) {
		// A retry that raced its first attempt: the first one won.
		return s.again(ctx, m)
	}
	return out, created, err
}

func (s *Media) again(ctx context.Context, m MediaUpload) (*MediaItem, bool, error) {
	var old mediaRow
	err := s.db.NewSelect().Model(&old).Column("visit_id", "n", "kind", "content_type", "created_at").ColumnExpr("octet_length(m.body) AS size").
		Where("client_key = ?", m.Key).Where("visit_id = ?", m.VisitID).Scan(ctx)
	if err != nil {
		return nil, false, dispatch.Conflict("upload_conflict", "another upload changed the visit's media meanwhile; retry")
	}
	return old.item(), false, nil
}

// List returns the media of the visits, without bodies, by visit then n.
func (s *Media) List(ctx context.Context, visitIDs ...int64) ([]MediaItem, error) {
	out := []MediaItem{}
	if len(visitIDs) == 0 {
		return out, nil
	}
	var rows []mediaRow
	err := s.db.NewSelect().Model(&rows).Column("visit_id", "n", "kind", "content_type", "created_at").ColumnExpr("octet_length(m.body) AS size").
		Where("visit_id IN (?)", bun.In(visitIDs)).Order("visit_id", "n").Scan(ctx)
	if err != nil {
		return nil, Wrap(err)
	}
	for i := range rows {
		out = append(out, *rows[i].item())
	}
	return out, nil
}

// Get returns media n of a visit with its body (404 when there is none).
func (s *Media) Get(ctx context.Context, visitID int64, n int) (*MediaItem, error) {
	var row mediaRow
	err := s.db.NewSelect().Model(&row).Column("visit_id", "n", "kind", "content_type", "created_at", "body").Where("visit_id = ? AND n = ?", visitID, n).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("media")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return row.item(), nil
}
