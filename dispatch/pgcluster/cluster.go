// Package pgcluster runs a private PostgreSQL cluster from the system's server binaries:
// the embedded default that lets `despacho serve` and the tests work with no DATABASE_URL.
//
// The cluster listens only on a Unix socket inside its data folder (no TCP port), so two
// clusters never collide. When the process runs as root (CI, a fresh Debian box), initdb and
// the server run as the `postgres` system user, because PostgreSQL refuses to run as root.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries means no PostgreSQL server binaries (initdb, pg_ctl) were found on PATH or
// under /usr/lib/postgresql/*/bin.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set DATABASE_URL")

// Options tune a cluster. The zero value is a durable cluster fit for `serve`.
type Options struct {
	// Fast turns off fsync and synchronous commit: for throw-away test clusters only.
	Fast bool
	// MaxConnections is the server's max_connections; 0 means 200.
	MaxConnections int
	// Logger receives start/stop messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is one private PostgreSQL cluster in a data folder.
type Cluster struct {
	dir     string // data folder, absolute
	bin     string // folder holding initdb, pg_ctl, postgres
	opts    Options
	runAs   *user.User // non-nil when commands must run as the postgres user
	started bool       // true when Start launched the server (so Stop stops it)
	// lock is this process's shared hold on the cluster (see Start), nil before Start.
	lock *os.File
}

// FindBinaries returns the folder that holds initdb and pg_ctl: PATH first, then the newest
// /usr/lib/postgresql/N/bin. It returns ErrNoBinaries when there is none.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Slice(matches, func(i, j int) bool { return pgVersion(matches[i]) > pgVersion(matches[j]) })
	for _, m := range matches {
		dir := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func pgVersion(path string) int {
	// /usr/lib/postgresql/15/bin/pg_ctl → 15
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// New prepares a cluster in dir (created if missing); it does not start it.
func New(dir string, opts Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 200
	}
	c := &Cluster{dir: abs, bin: bin, opts: opts}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres system user (apt-get install postgresql): %w", err)
		}
		c.runAs = u
	}
	if len(c.SocketPath()) > 100 {
		return nil, fmt.Errorf("data folder path %q is too long for a Unix socket; use a shorter one", abs)
	}
	return c, nil
}

// Dir is the data folder.
func (c *Cluster) Dir() string { return c.dir }

// SocketPath is the Unix socket file the server listens on.
func (c *Cluster) SocketPath() string { return filepath.Join(c.dir, ".s.PGSQL.5432") }

// DSN is the pgdriver connection string for database db as the superuser postgres.
func (c *Cluster) DSN(db string) string {
	q := url.Values{"host": {c.SocketPath()}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + url.PathEscape(db) + "?" + q.Encode()
}

// Start initialises the cluster on first use and starts the server, waiting until it accepts
// connections. A server already running on this folder (another despacho process, or one
// left by a crash) is used as it is. Every process that starts or uses the cluster holds a
// shared lock on a file beside the folder while it does; Stop stops the server only when
// no other process holds one, so that a second command never pulls the database from under
// a running service, and a service restarted after a crash (whose lock the crash released)
// still stops the server it found running.
func (c *Cluster) Start(ctx context.Context) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	if err := c.own(c.dir); err != nil {
		return err
	}
	if c.lock == nil {
		f, err := os.OpenFile(c.dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		c.lock = f
	}
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return err
		}
	}
	if c.running(ctx) {
		c.log().Info("private PostgreSQL already running; using it", "dir", c.dir)
		c.started = true // Stop decides by the lock whether anyone else still uses it
		return nil
	}
	settings := []string{
		"-k", c.dir, "-c", "listen_addresses=", "-p", "5432",
		"-c", "max_connections=" + strconv.Itoa(c.opts.MaxConnections),
		"-c", "unix_socket_permissions=0777",
	}
	if c.opts.Fast {
		settings = append(settings, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logFile := filepath.Join(c.dir, "server.log")
	_, err := c.run(ctx, "pg_ctl", "-D", c.dir, "-l", logFile, "-w", "-t", "60", "-o", shellJoin(settings), "start")
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		return fmt.Errorf("start PostgreSQL in %s: %w\n%s", c.dir, err, lastLines(tail, 10))
	}
	c.started = true
	c.log().Info("private PostgreSQL started", "dir", c.dir, "socket", c.SocketPath())
	return nil
}

// Stop shuts the server down (fast mode: open sessions are ended, committed data is safe),
// unless another process still uses it (see Start): then only this process's hold goes.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.lock != nil {
		defer func() { c.lock.Close(); c.lock = nil }()
		// Turning the shared lock exclusive succeeds only when no one else holds one.
		if err := syscall.Flock(int(c.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			if c.started {
				c.log().Info("private PostgreSQL left running: another process uses it", "dir", c.dir)
			}
			c.started = false
			return nil
		}
	}
	if !c.started {
		return nil
	}
	c.started = false
	if _, err := c.run(ctx, "pg_ctl", "-D", c.dir, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("stop PostgreSQL in %s: %w", c.dir, err)
	}
	c.log().Info("private PostgreSQL stopped", "dir", c.dir)
	return nil
}

// Restart stops and starts the server in place (immediate mode, like a crash): for fault
// tests that must survive a PostgreSQL restart.
func (c *Cluster) Restart(ctx context.Context) error {
	_, err := c.run(ctx, "pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "-t", "60", "stop")
	if err != nil {
		return err
	}
	c.started = false
	return c.Start(ctx)
}

func (c *Cluster) running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "-D", c.dir, "status")
	return err == nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	_, err := c.run(ctx, "initdb", "-D", c.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	if err != nil {
		// Some systems lack the C.UTF-8 locale; fall back to the plain C locale.
		if strings.Contains(err.Error(), "locale") {
			_ = os.RemoveAll(c.dir)
			if err := os.MkdirAll(c.dir, 0o700); err != nil {
				return err
			}
			if err := c.own(c.dir); err != nil {
				return err
			}
			_, err = c.run(ctx, "initdb", "-D", c.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-instructions")
		}
		if err != nil {
			return fmt.Errorf("initdb %s: %w", c.dir, err)
		}
	}
	return nil
}

// own hands dir to the postgres user when running as root, and makes sure that user can
// reach it through its parents.
func (c *Cluster) own(dir string) error {
	if c.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.runAs.Uid)
	gid, _ := strconv.Atoi(c.runAs.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("let the postgres user reach %s: %w", dir, err)
			}
		}
	}
	return nil
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "PGTZ=UTC")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// pg_ctl start forks the postmaster which inherits our pipes; WaitDelay stops us from
	// waiting on them for ever once pg_ctl itself has exited.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return out.Bytes(), fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(lastLines(out.Bytes(), 5)))
	}
	return out.Bytes(), nil
}

func (c *Cluster) log() *slog.Logger {
	if c.opts.Logger != nil {
		return c.opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func shellJoin(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " '\"\\$") {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
