package pages

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
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
	// imports holds the modules each module imports, by path under static/, in the order
	// of its import statements.
	imports map[string][]string
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
	a.imports = map[string][]string{}
	for name, f := range a.files {
		if path.Ext(name) != ".js" {
			continue
		}
		deps, err := moduleImports(name, f.body)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			if a.files[d] == nil {
				return nil, fmt.Errorf("static/%s imports %s, which is not a static file", name, d)
			}
		}
		a.imports[name] = deps
	}
	return a, nil
}

var (
	// importFrom is a static import or re-export with a from clause (its names may span
	// lines), or an import for side effects only; a statement starts a line.
	importFrom = regexp.MustCompile(`(?m)^(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]`)
	// importStmt is any static import statement (not import() or import.meta).
	importStmt = regexp.MustCompile(`(?m)^import[\s{*'"]`)
)

// moduleImports returns the modules that the module name imports statically, as paths under
// static/. It refuses what it cannot follow: an import statement it does not read, or a
// specifier that is not relative (the pages load modules from this site only).
func moduleImports(name string, src []byte) ([]string, error) {
	found := importFrom.FindAllSubmatchIndex(src, -1)
	read := map[int]bool{}
	for _, m := range found {
		read[m[0]] = true
	}
	for _, m := range importStmt.FindAllIndex(src, -1) {
		if !read[m[0]] {
			return nil, fmt.Errorf("static/%s:%d: an import statement the pages' preloads cannot follow", name, bytes.Count(src[:m[0]], []byte("\n"))+1)
		}
	}
	var out []string
	for _, m := range found {
		spec := ""
		for g := 1; g <= 2; g++ {
			if m[2*g] >= 0 {
				spec = string(src[m[2*g]:m[2*g+1]])
			}
		}
		if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
			return nil, fmt.Errorf("static/%s imports %q: only relative imports of the site's modules are supported", name, spec)
		}
		out = append(out, path.Join(path.Dir(name), spec))
	}
	return out, nil
}

// modules returns the modules that the module name needs before it runs: its imports, theirs,
// and so on, each once, in the order the browser meets them. A page preloads them
// (rel=modulepreload), so that each level of imports does not cost one more round trip.
func (a *assets) modules(name string) []string {
	var out []string
	seen := map[string]bool{name: true}
	var walk func(string)
	walk = func(m string) {
		for _, d := range a.imports[m] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				walk(d)
			}
		}
	}
	walk(name)
	return out
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
	if r.PathValue("path") == "js/sw.js" {
		// The tech page's worker (sw.js) serves /tech, above the folder it is served from.
		h.Set("Service-Worker-Allowed", "/tech")
	}
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
