package pages

import (
	"slices"
	"strings"
	"testing"
)

// TestModuleImports: the imports of a module as the layout's preloads read them. That they
// are the modules the browser asks for is TestBrowserPreloads'.
func TestModuleImports(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		want      []string
		err       string
	}{
		{"named", "import { a, b } from './core.js';\nimport { live } from \"./live.js\";\n", []string{"js/core.js", "js/live.js"}, ""},
		{"names over lines", "import {\n  a,\n  b,\n} from './core.js';\n", []string{"js/core.js"}, ""},
		{"default and namespace", "import x from './x.js';\nimport * as y from '../y.js';\n", []string{"js/x.js", "y.js"}, ""},
		{"side effects", "import './setup.js';\n", []string{"js/setup.js"}, ""},
		{"re-export", "export { t } from './core.js';\nexport function f() { return 'from'; }\n", []string{"js/core.js"}, ""},
		{"dynamic and meta are not static imports", "const m = import('./later.js');\nconsole.log(import.meta.url);\n", nil, ""},
		{"a word in a string", "const s = 'import this from there';\n", nil, ""},
		{"not relative", "import { x } from 'https://cdn.example/x.js';\n", nil, "only relative imports"},
		{"unread", "import {\n  a } from\n  './core.js'; import b from './b.js'\nimport c from `./c.js`;\n", nil, ":4: an import statement"},
	}
	for _, c := range cases {
		got, err := moduleImports("js/page.js", []byte(c.src))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one with %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestModulesPreloaded: a page preloads every module its script needs, at every depth, once.
func TestModulesPreloaded(t *testing.T) {
	t.Parallel()
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	a.imports["x/a.js"] = []string{"x/b.js", "x/c.js"}
	a.imports["x/b.js"] = []string{"x/c.js", "x/d.js"}
	a.imports["x/d.js"] = []string{"x/a.js"} // a cycle ends where it started
	if got, want := a.modules("x/a.js"), []string{"x/b.js", "x/c.js", "x/d.js"}; !slices.Equal(got, want) {
		t.Errorf("modules(x/a.js) = %q, want %q", got, want)
	}
}
