// Package pgtest gives tests a PostgreSQL server: the one SIGOCO_PG_URL
// names, or a throwaway cluster it starts itself (initdb, pg_ctl) from
// Debian's postgresql package, and a fresh database per test on it.
//
// A test calls Database (or Require), which starts the shared server on
// first use and skips the test with the reason when no server could be
// had — or fails it when CI=true, so that CI never passes by skipping. The
// test binary's TestMain calls Main (or Stop after its tests), which stops
// a server started here.
//
// initdb refuses to run as root: as root, the cluster is made and run as
// the postgres user, in a directory that user owns (not t.TempDir, which
// is root's). The server listens on 127.0.0.1 on a free port and on a
// socket in that directory; it runs without fsync (a test cluster) and is
// stopped, and its directory removed, when the tests end.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with the URL of a server to use
// instead of starting one. Its user must be allowed to create databases.
const EnvURL = "SIGOCO_PG_URL"

// Server is a PostgreSQL server for tests.
type Server struct {
	// URL connects to its maintenance database as a superuser (or the
	// user of SIGOCO_PG_URL).
	URL string

	dir    string   // the cluster's directory, when started here
	pgCtl  string   // its pg_ctl
	asUser []string // the command prefix running as the cluster's owner
	dbs    atomic.Int64
}

// The server shared by a test binary's tests, started on first use.
var (
	mu       sync.Mutex
	started  bool
	server   *Server
	startErr error
)

// Main runs the tests and stops the shared server if one was started; it
// returns m.Run's code.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the shared server if it was started here (reporting a failure
// on stderr). Tests that use it afterwards start another.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	started, server, startErr = false, nil, nil
}

// shared returns the shared server, starting it on first use.
func shared() (*Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		server, startErr = Start()
	}
	return server, startErr
}

// Start returns the server SIGOCO_PG_URL names, or starts a throwaway one.
func Start() (*Server, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return &Server{URL: u}, nil
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &Server{pgCtl: filepath.Join(bin, "pg_ctl")}
	dir, err := os.MkdirTemp("", "sigoco-pg-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and there is no postgres user to run PostgreSQL as (initdb refuses root): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root without runuser: %w", err)
		}
		s.asUser = []string{runuser, "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	opts := fmt.Sprintf("-k %s -p %d -h 127.0.0.1 -F -c full_page_writes=off -c synchronous_commit=off -c max_connections=300", dir, port)
	if out, err := s.run(s.pgCtl, "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return s, nil
}

// binDir finds PostgreSQL's programs: Debian keeps them in
// /usr/lib/postgresql/VERSION/bin (the newest is taken), off PATH.
func binDir() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	if len(found) > 0 {
		return filepath.Dir(found[len(found)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: no PostgreSQL server programs (initdb) found: install Debian's postgresql package, or set " + EnvURL)
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	argv := append(append([]string{}, s.asUser...), prog)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = os.TempDir()
	return cmd.CombinedOutput()
}

// Stop stops a server started here (immediately: nothing in it is kept)
// and removes its directory. It does nothing to SIGOCO_PG_URL's server.
func (s *Server) Stop() error {
	if s.dir == "" {
		return nil
	}
	out, err := s.run(s.pgCtl, "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(s.dir)
	s.dir = ""
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, func() error, error) {
	name := fmt.Sprintf("sigoco_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, s.dbs.Add(1))
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.URL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}

// Require returns the shared server, skipping t (failing it when CI=true)
// when there is none.
func Require(t testing.TB) *Server {
	t.Helper()
	s, err := shared()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no PostgreSQL server (CI=true: not skipping): %v", err)
		}
		t.Skipf("no PostgreSQL server: %v", err)
	}
	return s
}

// Database creates a database for t on the shared server, dropped when t
// ends, and returns its URL. See Require for when there is no server.
func Database(t testing.TB) string {
	t.Helper()
	s := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, drop, err := s.NewDatabase(ctx)
	if err != nil {
		t.Fatalf("pgtest: creating a database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("pgtest: dropping the test database: %v", err)
		}
	})
	return u
}
