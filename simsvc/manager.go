package simsvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
)

// EnvName is how Spawn tells a child its process name
// (SpawnOptions.Name): ServeChild serves under it, whatever Options.Name
// says, so that two processes of one service have distinct targets,
// notifiers and tracked runs.
const EnvName = "SIGOCO_SIMSVC_NAME"

// Manager errors.
var (
	// ErrUnknownService is returned by Manager.Spawn for a service name no
	// factory was registered under.
	ErrUnknownService = errors.New("simsvc: no such service registered")
	// ErrRegistered is returned by Manager.Register for a name already
	// taken.
	ErrRegistered = errors.New("simsvc: service already registered")
)

// Factory makes the command of one service process (not yet started):
// typically exec.Command of the service program, or of the running
// program in a service mode. args are what Manager.Spawn was given.
type Factory func(args ...string) (*exec.Cmd, error)

// ManagerOptions configures a Manager. The zero value is valid.
type ManagerOptions struct {
	// Spawn configures every Spawn of the manager (its Name is set per
	// process). Default: Spawn's defaults.
	Spawn SpawnOptions
	// Signals, if set, makes the manager close every process when the
	// program receives one of them, and then stop catching them and send
	// the signal again to itself, so that it takes its default course
	// (SimService closes its services at exit likewise); a program that
	// catches the signal itself (signal.Notify) gets it a second time. Typical:
	// os.Interrupt, syscall.SIGTERM. Default: none (the children of a
	// parent that dies still end: their stdin closes; see Spawn).
	Signals []os.Signal
}

// Manager keeps the service processes of a program, as SimService's
// managers and process registry do: factories registered by service
// name, processes spawned by service name under unique process names
// ("heat-1", "heat-2", …), looked up by process name, and closed together.
// It is safe for concurrent use.
type Manager struct {
	opts ManagerOptions

	mu        sync.Mutex
	factories map[string]Factory
	seq       map[string]int
	procs     map[string]*Proxy
	closed    bool

	stopSignals chan struct{} // closed by Close: ends the signal goroutine
	sigDone     chan struct{} // closed when the signal goroutine has ended
	closeOnce   sync.Once
	closeErr    error
}

// NewManager returns an empty Manager; with ManagerOptions.Signals it
// starts watching for them (until Close).
func NewManager(opts ManagerOptions) *Manager {
	m := &Manager{opts: opts, factories: map[string]Factory{}, seq: map[string]int{}, procs: map[string]*Proxy{},
		stopSignals: make(chan struct{}), sigDone: make(chan struct{})}
	if len(opts.Signals) == 0 {
		close(m.sigDone)
		return m
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, opts.Signals...)
	go func() {
		defer close(m.sigDone)
		defer signal.Stop(ch)
		select {
		case sig := <-ch:
			m.closeAll()
			// Stop relaying (not Reset: handlers of the program's own
			// stay), then send the signal again: it takes its default
			// course unless the program catches it too, which then gets
			// it once more.
			signal.Stop(ch)
			if s, ok := sig.(syscall.Signal); ok {
				syscall.Kill(os.Getpid(), s)
			}
		case <-m.stopSignals:
		}
	}()
	return m
}

// Register registers the factory of service name (SimService's
// register_service). A name already registered is ErrRegistered.
func (m *Manager) Register(name string, f Factory) error {
	if name == "" || f == nil {
		return errors.New("simsvc: Manager.Register needs a name and a factory")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.factories[name] != nil {
		return fmt.Errorf("%w: %q", ErrRegistered, name)
	}
	m.factories[name] = f
	return nil
}

// IsRegistered reports whether a factory is registered under name.
func (m *Manager) IsRegistered(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.factories[name] != nil
}

// Services returns the registered service names, sorted.
func (m *Manager) Services() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Spawn starts a process of service (its factory given args) with Spawn
// and returns its proxy. The process gets a name unique in this manager,
// "SERVICE-N" (N counting from 1, never reused), which it serves under
// (EnvName) and which Proxy.ProcessName returns. The proxy's Close ends
// the process and removes it from the manager.
func (m *Manager) Spawn(ctx context.Context, service string, args ...string) (*Proxy, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	f := m.factories[service]
	if f == nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrUnknownService, service)
	}
	m.seq[service]++
	name := service + "-" + strconv.Itoa(m.seq[service])
	m.mu.Unlock()

	cmd, err := f(args...)
	if err != nil {
		return nil, fmt.Errorf("simsvc: the factory of %q: %w", service, err)
	}
	opts := m.opts.Spawn
	opts.Name = name
	p, err := Spawn(ctx, cmd, opts)
	if err != nil {
		return nil, err
	}
	p.processName = name
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		p.Close()
		return nil, ErrClosed
	}
	m.procs[name] = p
	p.onClose = func() {
		m.mu.Lock()
		if m.procs[name] == p {
			delete(m.procs, name)
		}
		m.mu.Unlock()
	}
	m.mu.Unlock()
	return p, nil
}

// Lookup returns the proxy of the process named name (SimService's
// get_proxy_by_process_name), or nil and false.
func (m *Manager) Lookup(name string) (*Proxy, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.procs[name]
	return p, ok
}

// Processes returns the names of the processes not yet closed, sorted.
func (m *Manager) Processes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.procs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CloseAll closes every process (their Close, concurrently) and returns
// their errors joined; the manager stays usable. SimService's
// close_services.
func (m *Manager) CloseAll() error { return m.closeAll() }

func (m *Manager) closeAll() error {
	m.mu.Lock()
	procs := make([]*Proxy, 0, len(m.procs))
	for _, p := range m.procs {
		procs = append(procs, p)
	}
	m.mu.Unlock()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Close(); err != nil {
				errs[i] = fmt.Errorf("simsvc: closing %s: %w", p.ProcessName(), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close closes every process, stops watching for signals, and makes later
// Spawn calls fail with ErrClosed. Idempotent; it waits for the processes
// to end.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.stopSignals)
		<-m.sigDone
		m.closeErr = m.closeAll()
	})
	return m.closeErr
}
