package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestMediaNumbering: uploads to two visits at once number each visit's files 1, 2, 3…
// without gaps or repeats; a visit not yet at the address takes none; the bytes come back
// as stored.
func TestMediaNumbering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, _, vs, now := visitFixture(t, 3)
	media := postgres.NewMedia(db, nil)
	if _, err := db.NewRaw("UPDATE visits SET status = 'on_site' WHERE id IN (?, ?)", vs[0].ID, vs[1].ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	jpeg := func(i int) []byte { return append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte{byte(i)}, 1000)...) }
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			v := vs[i%2]
			_, created, err := media.Add(ctx, postgres.MediaUpload{VisitID: v.ID, Kind: postgres.MediaPhoto, ContentType: "image/jpeg",
				Body: jpeg(i), Key: fmt.Sprintf("key-%08d", i)}, nil, now)
			if err == nil && !created {
				err = fmt.Errorf("upload %d: not created", i)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := media.List(ctx, vs[0].ID, vs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	next := map[int64]int{}
	for _, m := range list {
		next[m.VisitID]++
		if m.N != next[m.VisitID] || m.Size != 1004 {
			t.Errorf("visit %d item %+v, want n %d and 1004 bytes", m.VisitID, m, next[m.VisitID])
		}
	}
	if next[vs[0].ID] != 5 || next[vs[1].ID] != 5 {
		t.Fatalf("files per visit = %v, want 5 and 5", next)
	}
	got, err := media.Get(ctx, vs[1].ID, 3)
	if err != nil || got.ContentType != "image/jpeg" || len(got.Body) != 1004 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := media.Get(ctx, vs[1].ID, 6); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("Get of a missing n = %v, want not found", err)
	}
	_, _, err = media.Add(ctx, postgres.MediaUpload{VisitID: vs[2].ID, Kind: postgres.MediaPhoto, ContentType: "image/jpeg", Body: jpeg(1), Key: "key-unscheduled"}, nil, now)
	if dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Fatalf("photo of an unscheduled visit: %v, want a conflict", err)
	}
	_, _, err = media.Add(ctx, postgres.MediaUpload{VisitID: vs[0].ID, Kind: postgres.MediaSignature, ContentType: "image/png", Body: jpeg(1), Key: "key-00000001"}, nil, now)
	if dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Fatalf("a key of one visit reused on another: %v, want a conflict", err)
	}
}
