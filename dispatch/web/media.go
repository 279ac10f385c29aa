package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// mediaAPI serves the photos and the customer's signature a technician takes at a visit.
type mediaAPI struct {
	s      *Server
	media  *postgres.Media
	visits *postgres.Visits
	techs  *postgres.Technicians
}

func (s *Server) newMediaAPI() *mediaAPI {
	return &mediaAPI{
		s:      s,
		media:  postgres.NewMedia(s.db, s.events),
		visits: s.visits,
		techs:  postgres.NewTechnicians(s.db, s.events),
	}
}

// mediaItem is a stored photo or signature as listed: url is where its bytes are.
type mediaItem struct {
	postgres.MediaItem
	URL string `json:"url"`
}

func viewMedia(items []postgres.MediaItem) []mediaItem {
	out := make([]mediaItem, 0, len(items))
	for _, m := range items {
		out = append(out, mediaItem{MediaItem: m, URL: fmt.Sprintf("/api/visits/%d/media/%d", m.VisitID, m.N)})
	}
	return out
}

// visitOf returns visit {id} for the caller: staff see every visit, a technician only those
// assigned to him (404 otherwise, as for the visit itself).
func (m *mediaAPI) visitOf(r *http.Request) (*dispatch.Visit, error) {
	id, err := pathID(r, "visit")
	if err != nil {
		return nil, err
	}
	v, err := m.visits.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := technicianOwns(r.Context(), m.techs.ByUser, v); err != nil {
		return nil, err
	}
	return v, nil
}

// uploadKey is the client's key for one file: what a phone generates (hex, UUID, base64url).
var uploadKey = regexp.MustCompile(`^[A-Za-z0-9_-]{8,100}$`)

// ctypeName names a sniffed type in messages.
var ctypeName = map[string]string{"image/jpeg": "JPEG", "image/png": "PNG"}

// upload stores one photo or the signature: the body is the image itself (JPEG or PNG,
// whatever Content-Type says: the content decides), ?kind=photo|signature, and an
// Idempotency-Key header naming the file, so a phone resending its offline queue stores
// each file once (201 the first time, 200 after).
//
// What is stored is the image without its metadata (GPS position, camera serial, time,
// comments; see stripMetadata), and its size is the stripped size. The size limit applies
// to the file as sent: whether a file is too large then depends only on what the phone
// sends, not on how much Exif it happened to carry, the body is never read past the
// limit, and stripping never makes a file longer.
func (m *mediaAPI) upload(w http.ResponseWriter, r *http.Request) error {
	kind := r.URL.Query().Get("kind")
	limit := 0
	switch kind {
	case postgres.MediaPhoto:
		limit = postgres.MaxPhotoBytes
	case postgres.MediaSignature:
		limit = postgres.MaxSignatureBytes
	default:
		return dispatch.Invalid("kind", "must be photo or signature")
	}
	key := r.Header.Get("Idempotency-Key")
	if !uploadKey.MatchString(key) {
		return dispatch.Invalid("Idempotency-Key", "is required: 8 to 100 letters, digits, - or _, one per file")
	}
	v, err := m.visitOf(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, int64(limit)))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return &dispatch.Error{Kind: dispatch.KindTooLarge, Code: "file_too_large", Field: "file",
				Message: fmt.Sprintf("a %s may be at most %d KB; resize it first", kind, limit>>10)}
		}
		return dispatch.Malformed("could not read the file: %v", err)
	}
	if len(body) == 0 {
		return dispatch.Invalid("file", "is empty")
	}
	ctype := http.DetectContentType(body)
	if ctype != "image/jpeg" && ctype != "image/png" {
		return dispatch.Invalid("file", "must be a JPEG or PNG image, not %s", ctype)
	}
	if body, err = stripMetadata(ctype, body); err != nil {
		return dispatch.Invalid("file", "is not a well-formed %s image: it %v", ctypeName[ctype], err)
	}
	item, created, err := m.media.Add(r.Context(), postgres.MediaUpload{VisitID: v.ID, Kind: kind, ContentType: ctype, Body: body, Key: key},
		Actor(r.Context()), m.s.now())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, viewMedia([]postgres.MediaItem{*item})[0])
	return nil
}

// list answers the media of visit {id}, without their bytes.
func (m *mediaAPI) list(w http.ResponseWriter, r *http.Request) error {
	v, err := m.visitOf(r)
	if err != nil {
		return err
	}
	items, err := m.media.List(r.Context(), v.ID)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"media": viewMedia(items)})
	return nil
}

// file answers the bytes of media {n} of visit {id}. The type was sniffed at upload and is
// sent with nosniff, so a browser never runs it as anything but an image; private: shared
// caches must not keep a customer's signature.
func (m *mediaAPI) file(w http.ResponseWriter, r *http.Request) error {
	v, err := m.visitOf(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n <= 0 {
		return dispatch.NotFound("media")
	}
	item, err := m.media.Get(r.Context(), v.ID, n)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", item.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("Content-Disposition", "inline")
	h.Set("Content-Length", strconv.Itoa(len(item.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(item.Body)
	}
	return nil
}

// byReport answers the media of every visit of report {folio}: the report's detail shows
// them.
func (m *mediaAPI) byReport(w http.ResponseWriter, r *http.Request) error {
	d, err := m.s.reports.Get(r.Context(), r.PathValue("folio"))
	if err != nil {
		return err
	}
	vs, err := m.visits.ByReport(r.Context(), d.Report.ID)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	items, err := m.media.List(r.Context(), ids...)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"media": viewMedia(items)})
	return nil
}
