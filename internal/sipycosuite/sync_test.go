package sipycosuite

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sigoco/sigoco/pyon"
	"github.com/sigoco/sigoco/syncstruct"
)

// syncPeer is a Go Publisher on a free loopback port, with the notifiers
// the case's Python Publisher would have served.
type syncPeer struct {
	pub       *syncstruct.Publisher
	notifiers map[string]*syncstruct.Notifier
	cancel    context.CancelFunc
	served    chan struct{}
}

func (h *harness) startSync(req *request) (map[string]any, error) {
	if h.pub != nil {
		return nil, errors.New("publisher already running")
	}
	tc, err := tlsServer(req.SSL)
	if err != nil {
		return nil, err
	}
	ns := map[string]*syncstruct.Notifier{}
	for name, tree := range req.Notifiers {
		v, err := pyon.DecodeString(tree)
		if err != nil {
			return nil, fmt.Errorf("notifier %s: %w", name, err)
		}
		n, err := syncstruct.NewNotifier(v, syncstruct.NotifierOptions{})
		if err != nil {
			return nil, fmt.Errorf("notifier %s: %w", name, err)
		}
		ns[name] = n
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pub := syncstruct.NewPublisher(ns, syncstruct.PublisherOptions{TLS: tc})
	ctx, cancel := context.WithCancel(context.Background())
	peer := &syncPeer{pub: pub, notifiers: ns, cancel: cancel, served: make(chan struct{})}
	go func() {
		defer close(peer.served)
		pub.Serve(ctx, ln)
	}()
	h.pub = peer
	return map[string]any{"port": ln.Addr().(*net.TCPAddr).Port}, nil
}

// syncMod makes the change a SiPyCo mod describes to the Go notifier,
// through the Notifier's own methods (what a Go publisher would call).
func (h *harness) syncMod(req *request) error {
	if h.pub == nil {
		return errors.New("no publisher running")
	}
	n := h.pub.notifiers[req.Notifier]
	if n == nil {
		return fmt.Errorf("no notifier %q", req.Notifier)
	}
	v, err := pyon.DecodeString(req.Mod)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("mod is %T, not a dict", v)
	}
	path, _ := m["path"].([]any)
	node := n.At(path...)
	switch act := m["action"]; act {
	case "setitem":
		err = node.Set(m["key"], m["value"])
	case "delitem":
		err = node.Delete(m["key"])
	case "append":
		err = node.Append(m["x"])
	case "insert":
		var i int
		if i, err = index(m["i"]); err == nil {
			err = node.Insert(i, m["x"])
		}
	case "pop":
		if i, ierr := index(m["i"]); ierr == nil {
			_, err = node.Pop(i)
		} else {
			_, err = node.PopKey(m["i"]) // dict.pop(key)
		}
	default:
		err = fmt.Errorf("action %v", act)
	}
	if err != nil {
		return fmt.Errorf("the Go Notifier cannot make SiPyCo's change %s: %w", req.Mod, err)
	}
	return nil
}

func index(v any) (int, error) {
	switch i := v.(type) {
	case int64:
		return int(i), nil
	case int:
		return i, nil
	}
	return 0, fmt.Errorf("index %v (%T) is not an int", v, v)
}

func (h *harness) stopSync() error {
	if h.pub == nil {
		return errors.New("no publisher running")
	}
	h.pub.close()
	h.pub = nil
	return nil
}

func (p *syncPeer) close() {
	p.pub.Close()
	p.cancel()
	<-p.served
}
