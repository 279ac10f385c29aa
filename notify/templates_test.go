package notify_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/notify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDefaultTemplatesGolden renders every kind in every language with its sample data
// (the status link with its access code in the texts of a report's creation) and compares
// with testdata/{lang}_{kind}.txt; each text must fit in two segments.
func TestDefaultTemplatesGolden(t *testing.T) {
	t.Parallel()
	for _, lang := range notify.Languages {
		for _, kind := range notify.Kinds {
			got, err := notify.Render(string(kind), notify.DefaultTemplate(kind, lang), notify.SampleFor(kind, lang, mexico))
			if err != nil {
				t.Errorf("%s/%s: %v", lang, kind, err)
				continue
			}
			path := filepath.Join("testdata", lang+"_"+string(kind)+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != strings.TrimSuffix(string(want), "\n") {
				t.Errorf("%s/%s:\n got %q\nwant %q", lang, kind, got, want)
			}
			if enc, n := notify.Segments(got); n > 2 {
				t.Errorf("%s/%s: %d %s segments; want at most 2: %q", lang, kind, n, enc, got)
			}
		}
	}
}

func TestSampleDates(t *testing.T) {
	t.Parallel()
	es := notify.SampleData("es", mexico)
	if es.Window != "mar 24 nov, 10:00-12:00" {
		t.Errorf("es window = %q; want %q", es.Window, "mar 24 nov, 10:00-12:00")
	}
	en := notify.SampleData("en", mexico)
	if en.Window != "Tue Nov 24, 10:00-12:00" {
		t.Errorf("en window = %q; want %q", en.Window, "Tue Nov 24, 10:00-12:00")
	}
	if es.Technician != "María" || es.Verdict != "procedente" || en.Verdict != "upheld" {
		t.Errorf("sample = %+v; want first name only and the verdict translated", es)
	}
}

func TestCheckRejectsBrokenTemplates(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"Folio {{.Folio",            // does not parse
		"Hola {{.Nombre}}",          // no such field
		"{{if .Folio}}{{end}}",      // renders empty
		"{{template \"x\"}}",        // undefined template
		strings.Repeat("a", 1601),   // too long
		"{{range .Folio}}{{end}} x", // cannot range over a string
	} {
		err := notify.Check(body, "es", mexico)
		if dispatch.ErrorKind(err) != dispatch.KindInvalid {
			t.Errorf("Check(%.40q) = %v; want an Invalid error", body, err)
		}
	}
	if err := notify.Check("Folio {{.Folio}} {{.Window}} {{upper .Technician}}", "en", mexico); err != nil {
		t.Errorf("Check(valid) = %v; want nil", err)
	}
	if err := notify.Check(`{{if and .Restore (not .Restored)}}{{lower .Folio}}{{else if eq .Verdict "procedente"}}{{.Cause}}{{else}}x{{end}}`, "es", mexico); err != nil {
		t.Errorf("Check({{if}} with and, not, eq, else if) = %v; want nil", err)
	}
}

// TestCheckRejectsCostlyTemplates: a template may show fields and test them, nothing more.
// Each body here rendered to a short text and was accepted before; with loops and printf
// allowed, {{range 2000000000}}x{{end}} was rendered (2 GB, minutes) before its length was
// refused, so one PUT could take the server down.
func TestCheckRejectsCostlyTemplates(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"{{range 3}}x{{end}}",
		"x{{range 2}}{{range 2}}{{end}}{{end}}",
		`{{printf "%05d" 1}}`,
		`{{define "a"}}x{{end}}{{template "a"}}`,
		"{{block \"a\" .}}x{{end}}",
		"{{with .Folio}}{{.}}{{end}}",
		"{{$f := .Folio}}{{$f}}",
		"{{$.Folio}}",
		"{{len .Folio}} x",
		"{{index .Folio 0}} x",
	} {
		if err := notify.Check(body, "es", mexico); dispatch.ErrorKind(err) != dispatch.KindInvalid {
			t.Errorf("Check(%q) = %v; want an Invalid error", body, err)
		}
	}
}

func TestTemplateStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	s := notify.NewTemplates(db, mexico)
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(all), len(notify.Kinds)*len(notify.Languages); got != want {
		t.Fatalf("List returned %d templates; want %d", got, want)
	}
	if _, err := s.Put(ctx, notify.KindFolio, "es", "Folio {{.Folio", 0); dispatch.ErrorKind(err) != dispatch.KindInvalid {
		t.Fatalf("Put(broken) = %v; want Invalid", err)
	}
	if _, err := s.Put(ctx, "nope", "es", "x", 0); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("Put(unknown kind) = %v; want NotFound", err)
	}
	tp, err := s.Put(ctx, notify.KindFolio, "es", "Su folio es {{.Folio}}. {{.StatusURL}}", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !tp.Custom || !strings.HasPrefix(tp.Sample, "Su folio es R-2026-000123. http") {
		t.Errorf("Put = %+v; want custom with sample %q…", tp, "Su folio es R-2026-000123. http")
	}
	got, err := notify.RenderKind(ctx, db, notify.KindFolio, "es", notify.Data{Folio: "F-1", StatusURL: "https://x.mx/estado"})
	if err != nil || got != "Su folio es F-1. https://x.mx/estado" {
		t.Errorf("RenderKind = %q, %v; want %q", got, err, "Su folio es F-1. https://x.mx/estado")
	}
	if tp, err = s.Put(ctx, notify.KindFolio, "es", "", 0); err != nil || tp.Custom {
		t.Errorf("Put(empty) = %+v, %v; want the default restored", tp, err)
	}
	g, err := s.Get(ctx, notify.KindFolio, "es")
	if err != nil || g.Body != notify.DefaultTemplate(notify.KindFolio, "es") {
		t.Errorf("Get after reset = %+v, %v; want the default", g, err)
	}

	// A template stored before loops were refused is never rendered: the text that
	// goes out is the default's.
	if _, err := db.ExecContext(ctx, `INSERT INTO sms_templates (kind, language, body, updated_at) VALUES ('folio', 'es', 'Folio {{range 3}}x{{end}}', now())`); err != nil {
		t.Fatal(err)
	}
	want, err := notify.Render("folio", notify.DefaultTemplate(notify.KindFolio, "es"), notify.Data{Folio: "F-2"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := notify.RenderKind(ctx, db, notify.KindFolio, "es", notify.Data{Folio: "F-2"}); err != nil || got != want {
		t.Errorf("RenderKind with a stored loop = %q, %v; want the default %q", got, err, want)
	}
}
