package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"

	"github.com/sigoco/sigoco/rpc"
	"github.com/urfave/cli/v2"
)

// repl is an interactive session: one connection, re-established after a
// loss, and the selected target's method list for help and completion.
type repl struct {
	t      *tool
	addr   string
	client *rpc.Client // nil after the connection was lost
	target string      // "" while none is selected
	info   *rpc.TargetInfo
	script bool // standard input is not a terminal
}

func (t *tool) interactive(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) > 1 {
		return usagef("interactive takes no arguments, got %q (to call a method use: call METHOD ARGS)", args[1])
	}
	ctx := ctxOf(c)
	r := &repl{t: t, addr: args[0], target: c.String("target"), script: !isTerminal(t.env.stdin)}
	t.out.compact = true
	defer func() {
		if r.client != nil {
			r.client.Close()
		}
	}()
	if err := r.connect(ctx); err != nil {
		var ue *usageError
		if !errors.As(err, &ue) || r.client == nil {
			return err
		}
		// several targets and no -t: let the user choose with "target"
		if !r.script {
			fmt.Fprintf(t.out.stderr, "%v\n", strings.Replace(err.Error(), "with -t TARGET", "with: target NAME", 1))
		}
	}
	if r.script {
		return r.runScript(ctx)
	}
	return r.runTerminal(ctx)
}

// connect dials and selects r.target, or the only target.
func (r *repl) connect(ctx context.Context) error {
	ctx, stop := r.t.env.interruptible(ctx)
	defer stop()
	c, err := r.t.dial(ctx, r.addr)
	if err != nil {
		return err
	}
	r.client = c
	r.info = nil
	name, err := pickTarget(c.Targets(), r.target)
	if err != nil {
		r.target = ""
		return err
	}
	if err := r.t.selectTarget(ctx, c, name); err != nil {
		c.Close()
		r.client = nil
		return err
	}
	r.target = name
	return nil
}

func (r *repl) prompt() string {
	if r.target == "" {
		return r.addr + "> "
	}
	return r.addr + " (" + r.target + ")> "
}

// runScript runs standard input line by line, without a prompt.
func (r *repl) runScript(ctx context.Context) error {
	in := bufio.NewReader(r.t.env.stdin)
	failed := false
	for n := 1; ; n++ {
		line, err := in.ReadString('\n')
		if line == "" && err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			break
		}
		quit, lerr := r.exec(ctx, strings.TrimRight(line, "\r\n"))
		if lerr != nil {
			r.t.out.error(lerr, fmt.Sprintf("line %d: ", n))
			if errors.Is(lerr, errInterrupted) {
				return &silentError{exitInterrupted}
			}
			failed = true
		}
		if quit {
			break
		}
	}
	if failed {
		return &silentError{exitRemote}
	}
	return nil
}

// runTerminal reads lines with the line editor (or plainly where it cannot
// run) until exit, quit or Ctrl-D.
func (r *repl) runTerminal(ctx context.Context) error {
	var hist *history
	if r.t.historyFile != "" {
		hist = openHistory(r.t.historyFile)
	}
	var ed *lineEditor
	if canEdit(r.t.env.stdin, r.t.env.stdout) {
		var lines []string
		if hist != nil {
			lines = hist.lines
		}
		ed = newLineEditor(lines, r.complete)
		defer ed.Close()
	}
	plain := bufio.NewReader(r.t.env.stdin)
	for {
		var line string
		var err error
		if ed != nil {
			line, err = ed.readLine(r.prompt())
		} else {
			fmt.Fprint(r.t.env.stderr, r.prompt())
			line, err = plain.ReadString('\n')
			if line != "" {
				err = nil
			}
		}
		switch {
		case errors.Is(err, errLineCancelled):
			continue
		case errors.Is(err, io.EOF):
			if ed != nil {
				fmt.Fprintln(r.t.env.stdout)
			}
			return nil
		case err != nil:
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) != "" {
			if hist != nil {
				hist.add(line)
			}
			if ed != nil {
				ed.add(line)
			}
		}
		quit, lerr := r.exec(ctx, line)
		if lerr != nil {
			r.t.out.error(lerr, "error: ")
		}
		if quit {
			return nil
		}
	}
}

// exec runs one line; quit is true for exit and quit.
func (r *repl) exec(ctx context.Context, line string) (quit bool, err error) {
	cmd, err := parseLine(line, &argReader{})
	if err != nil || cmd.name == "" {
		return false, err
	}
	ctx, stop := r.t.env.interruptible(ctx)
	defer stop()
	if cmd.builtin {
		return r.builtin(ctx, cmd)
	}
	if err := r.ready(ctx); err != nil {
		return false, err
	}
	v, err := r.t.callMethod(ctx, r.client, cmd.name, cmd.args)
	if err != nil {
		r.dropIfLost(err)
		return false, err
	}
	return false, r.t.out.result(v)
}

// ready reconnects after a lost connection and checks a target is chosen.
func (r *repl) ready(ctx context.Context) error {
	if r.client == nil {
		if err := r.connect(ctx); err != nil && r.client == nil {
			return err
		}
	}
	if r.target == "" {
		return usagef("no target selected: choose one with: target NAME (targets: %s)", strings.Join(r.client.Targets(), ", "))
	}
	return nil
}

// dropIfLost forgets a connection that broke, so the next line redials.
func (r *repl) dropIfLost(err error) {
	var re *rpc.RemoteError
	if errors.As(err, &re) || !errors.Is(err, net.ErrClosed) {
		return
	}
	r.client.Close()
	r.client = nil
}

func (r *repl) methods(ctx context.Context) (*rpc.TargetInfo, error) {
	if r.info != nil {
		return r.info, nil
	}
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	info, err := r.t.methodList(ctx, r.client)
	if err != nil {
		r.dropIfLost(err)
		return nil, err
	}
	r.info = info
	return info, nil
}

func (r *repl) builtin(ctx context.Context, cmd lineCmd) (bool, error) {
	switch cmd.name {
	case "exit", "quit":
		return true, nil
	case "help":
		if len(cmd.words) == 0 {
			_, err := fmt.Fprintln(r.t.out.stdout, replHelp)
			return false, err
		}
		info, err := r.methods(ctx)
		if err != nil {
			return false, err
		}
		return false, r.t.printMethods(info, cmd.words, false)
	case "methods":
		info, err := r.methods(ctx)
		if err != nil {
			return false, err
		}
		return false, r.t.printMethods(info, nil, true)
	case "targets":
		if r.client == nil {
			if err := r.ready(ctx); err != nil {
				return false, err
			}
		}
		return false, r.t.printTargets(r.client)
	case "target":
		if len(cmd.words) == 0 {
			if r.target == "" {
				return false, usagef("no target selected: target NAME chooses one")
			}
			_, err := fmt.Fprintln(r.t.out.stdout, r.target)
			return false, err
		}
		if len(cmd.words) > 1 {
			return false, usagef("target takes one name")
		}
		// A connection selects its target once: switching means redialling.
		if r.client != nil {
			if _, err := pickTarget(r.client.Targets(), cmd.words[0]); err != nil {
				return false, err
			}
			r.client.Close()
			r.client = nil
		}
		old := r.target
		r.target = cmd.words[0]
		if err := r.connect(ctx); err != nil {
			if r.client == nil {
				r.target = old
			}
			return false, err
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown command %s", cmd.name)
}

// complete offers method and command names for the first word, method
// names after "help", targets after "target" and keyword names after a
// method name.
func (r *repl) complete(before string) (int, []string) {
	runes := []rune(before)
	start := len(runes)
	for start > 0 && !strings.ContainsRune(" \t(,=", runes[start-1]) {
		start--
	}
	word := string(runes[start:])
	first := strings.Fields(strings.NewReplacer("(", " ", ",", " ").Replace(before))
	ctx, stop := r.t.env.interruptible(context.Background())
	defer stop()
	var pool []string
	switch {
	case strings.TrimSpace(string(runes[:start])) == "":
		pool = append(pool, builtins...)
		if info, err := r.methods(ctx); err == nil {
			for _, m := range info.Methods {
				pool = append(pool, m.Name)
			}
		}
	case first[0] == "help":
		if info, err := r.methods(ctx); err == nil {
			for _, m := range info.Methods {
				pool = append(pool, m.Name)
			}
		}
	case first[0] == "target":
		if r.client != nil {
			pool = r.client.Targets()
		}
	default:
		if info, err := r.methods(ctx); err == nil {
			if m, ok := findMethod(info, first[0]); ok {
				for _, p := range m.Params {
					if p.Name != "" {
						pool = append(pool, p.Name+"=")
					}
				}
			}
		}
	}
	var out []string
	for _, c := range pool {
		if strings.HasPrefix(c, word) && !contains(out, c) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	if len(out) == 1 && !strings.HasSuffix(out[0], "=") {
		out[0] += " "
	}
	return start, out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const replHelp = `Calls, one per line:
  method(1, 'two', db=3)     Python style
  method 1 'two' db=3        shell style (@FILE reads a literal from a file)
Arguments are Python literals (see rpctool --help). Commands:
  help [METHOD]   this text, or a method's signature and doc
  methods         list the target's methods
  targets         list the server's targets
  target [NAME]   show or switch the target
  exit, quit      leave (or Ctrl-D)
A command name followed by "(" calls the remote method of that name.`
