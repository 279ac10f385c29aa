package pages

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file, ready to serve.
type asset struct {
	body  []byte
	gzip  []byte // nil when compression does not pay
	ctype string
	etag  string
}

// assets holds the static files and the version that prefixes their URLs.
type assets struct {
	version string
	files   map[string]*asset // by path under static/, e.g. "js/core.js"
}

// loadAssets reads the embedded static files. The version is a hash of all of them, so one
// changed file changes every URL: modules import each other by relative paths, which then
// stay inside one version.
func loadAssets() (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	var names []string
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	all := sha256.New()
	for _, p := range names {
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		all.Write([]byte(name))
		all.Write(sum[:])
		f := &asset{body: body, ctype: contentType(name), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if len(body) > 512 && !strings.HasPrefix(f.ctype, "image/png") {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body)*9/10 {
				f.gzip = buf.Bytes()
			}
		}
		a.files[name] = f
	}
	a.version = hex.EncodeToString(all.Sum(nil)[:6])
	return a, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".webmanifest":
		return "application/json; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// url returns the versioned URL of the static file name.
func (a *assets) url(name string) string { return "/static/" + a.version + "/" + name }

// ServeHTTP serves GET /static/{version}/{path...}. The current version is cached for a
// year (the URL changes with the content); another version, asked by a page served by an
// older or newer instance during a deploy, is served revalidated by ETag.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := a.files[r.PathValue("path")]
	if f == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	if r.PathValue("version") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gzip != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gzip
	}
	h.Set("Content-Length", itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
