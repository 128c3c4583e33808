package simsvc

import (
	"context"
	"fmt"

	"github.com/sigoco/sigoco/syncstruct"
)

// watch starts the status subscription (once).
func (p *Proxy) watch() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.sub != nil {
		return nil
	}
	sub, err := syncstruct.NewSubscriber(p.addr, p.name, syncstruct.SubscriberOptions{
		TLS:              p.opts.TLS,
		HandshakeTimeout: p.opts.HandshakeTimeout,
		Protocol:         syncstruct.ProtocolNative,
		Logger:           p.opts.Logger,
		OnMod:            []func(tree any, m *syncstruct.Mod){p.onMod},
	})
	if err != nil {
		return fmt.Errorf("simsvc: status subscription: %w", err)
	}
	p.sub = sub
	return nil
}

// onMod runs on the subscriber's goroutine after each mod.
func (p *Proxy) onMod(tree any, _ *syncstruct.Mod) {
	u := updateOf(tree)
	p.mu.Lock()
	changed := !p.synced || !sameUpdate(u, p.last)
	p.last, p.synced = u, true
	for w := range p.waiters {
		close(w)
		delete(p.waiters, w)
	}
	p.mu.Unlock()
	if changed && p.opts.OnUpdate != nil {
		p.opts.OnUpdate(u)
	}
}

func updateOf(tree any) Update {
	m, _ := tree.(map[string]any)
	var u Update
	u.Name, _ = m["name"].(string)
	u.SimName, _ = m["sim_name"].(string)
	st, _ := m["status"].(string)
	u.Status = Status(st)
	switch v := m["step"].(type) {
	case int64:
		u.Step = int(v)
	case float64:
		u.Step = int(v)
	}
	switch v := m["progress"].(type) {
	case float64:
		u.Progress = v
	case int64:
		u.Progress = float64(v)
	}
	u.ErrorMessage, _ = m["error_message"].(string)
	u.Functions = stringList(m["functions"])
	u.Properties = stringList(m["properties"])
	return u
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sameUpdate(a, b Update) bool {
	return a.Name == b.Name && a.SimName == b.SimName && a.Status == b.Status && a.Step == b.Step && a.Progress == b.Progress &&
		a.ErrorMessage == b.ErrorMessage && fmt.Sprint(a.Functions, a.Properties) == fmt.Sprint(b.Functions, b.Properties)
}

// Latest returns the live status last received, and false before the
// first one (it starts the subscription if need be).
func (p *Proxy) Latest() (Update, bool) {
	p.watch()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.synced
}

// WaitFor waits until the live status satisfies cond (checked on every
// update, and at once on the latest) and returns that status. It returns
// ctx.Err() when ctx ends first, ErrClosed when the proxy is closed, and
// the child's exit for a spawned service that died. Use it to follow a
// service that steps by itself:
//
//	p.WaitFor(ctx, func(u simsvc.Update) bool { return u.Step >= 100 })
func (p *Proxy) WaitFor(ctx context.Context, cond func(Update) bool) (Update, error) {
	if err := p.watch(); err != nil {
		return Update{}, err
	}
	var exited <-chan struct{}
	if p.child != nil {
		exited = p.child.exited
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return Update{}, ErrClosed
		}
		u, ok := p.last, p.synced
		w := make(chan struct{})
		p.waiters[w] = struct{}{}
		p.mu.Unlock()
		if ok && cond(u) {
			p.dropWaiter(w)
			return u, nil
		}
		select {
		case <-w:
		case <-ctx.Done():
			p.dropWaiter(w)
			return Update{}, ctx.Err()
		case <-exited:
			p.dropWaiter(w)
			return Update{}, p.child.exitError()
		}
	}
}

func (p *Proxy) dropWaiter(w chan struct{}) {
	p.mu.Lock()
	delete(p.waiters, w)
	p.mu.Unlock()
}
