package main

import (
	"net"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command line is sipyco_rpctool's: HOST PORT come before the command,
// flags may come anywhere, and after METHOD every word belongs to the
// method. urfave/cli (like Go's flag package) stops reading flags at the
// first positional word, so reorderArgs moves words, without interpreting
// any flag value, into the order urfave/cli parses:
//
//	rpctool [global flags] COMMAND [command flags] -- HOST:PORT [ARGS...]
//
// It uses the flag definitions of the app only to know how many words each
// flag takes; urfave/cli does all the parsing and validation.

// completeCommand is the hidden command the shell completion scripts call.
const completeCommand = "__complete"

// addrCommands need HOST PORT; the others run without a server.
var addrCommands = map[string]bool{"list-targets": true, "list-methods": true, "call": true, "interactive": true}

var plainCommands = map[string]bool{"completion": true, "help": true, "h": true, completeCommand: true}

// flagArity maps every name of flags to the number of words it takes.
func flagArity(flags []cli.Flag, into map[string]int) map[string]int {
	if into == nil {
		into = map[string]int{"h": 0, "help": 0}
	}
	for _, f := range flags {
		n := 1
		switch f.(type) {
		case *cli.BoolFlag:
			n = 0
		case sslFlag:
			n = 3
		}
		for _, name := range f.Names() {
			into[name] = n
		}
	}
	return into
}

// flagName returns the name of a flag word ("--timeout=5s" → "timeout",
// true) and whether it carries its value.
func flagName(tok string) (string, bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(tok, "-"), "-")
	name, _, hasValue := strings.Cut(name, "=")
	return name, hasValue
}

func isFlagWord(tok string) bool { return len(tok) > 1 && tok[0] == '-' && tok != "--" }

// reorderer is the state of one reorderArgs pass over the words.
type reorderer struct {
	args   []string
	global map[string]int            // arity of the global flags
	perCmd map[string]map[string]int // arity of each command's flags
	anyCmd map[string]int            // arity of every command's flags (no command seen yet)

	globals, local, pos, addr []string
	cmd                       string
	addrDone, flagsDone       bool
}

func reorderArgs(args []string, app *cli.App) ([]string, error) {
	prog := "rpctool"
	if len(args) > 0 {
		prog, args = args[0], args[1:]
	}
	r := &reorderer{args: args, global: flagArity(app.Flags, nil), perCmd: map[string]map[string]int{}, anyCmd: map[string]int{}}
	for _, c := range app.Commands {
		r.perCmd[c.Name] = flagArity(c.Flags, nil)
		flagArity(c.Flags, r.anyCmd)
	}
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if tok == "--" && !r.flagsDone {
			r.flagsDone = true
			continue
		}
		var err error
		if isFlagWord(tok) && !r.flagsDone {
			i, err = r.flag(i)
			if err != nil {
				return nil, err
			}
			continue
		}
		var out []string
		if i, out, err = r.word(prog, i); err != nil || out != nil {
			return out, err
		}
	}
	return r.result(prog)
}

// flag takes the flag at args[i] with its values and returns the index of
// its last word.
func (r *reorderer) flag(i int) (int, error) {
	args, tok := r.args, r.args[i]
	name, hasValue := flagName(tok)
	n, isGlobal := r.global[name]
	var isLocal bool
	if !isGlobal {
		if r.cmd != "" {
			n, isLocal = r.perCmd[r.cmd][name]
		} else {
			n, isLocal = r.anyCmd[name]
		}
	}
	words := []string{tok}
	switch {
	case hasValue && name == "ssl":
		return i, usagef("--ssl takes three files: --ssl CERT KEY PEER")
	case name == "ssl":
		if i+3 >= len(args) {
			return i, usagef("--ssl takes three files: --ssl CERT KEY PEER")
		}
		words = []string{"--ssl", args[i+1], "--ssl", args[i+2], "--ssl", args[i+3]}
		i += 3
	case !hasValue && n > 0 && i+n < len(args):
		words = append(words, args[i+1:i+1+n]...)
		i += n
	}
	if isGlobal || (!isLocal && r.cmd == "") {
		r.globals = append(r.globals, words...)
	} else {
		r.local = append(r.local, words...)
	}
	return i, nil
}

// word takes the positional word args[i]: the address, the command or an
// argument. A non-nil out is the final argument list (help, completion).
func (r *reorderer) word(prog string, i int) (next int, out []string, err error) {
	args, tok := r.args, r.args[i]
	switch {
	case r.cmd == "" && len(r.addr) == 0 && plainCommands[tok]:
		// completion and help take the rest as they are
		out := append([]string{prog}, r.globals...)
		out = append(out, r.local...)
		return i, append(append(out, tok), args[i+1:]...), nil
	case len(r.addr) == 0 && addrCommands[tok]:
		if wantsHelp(args[i+1:]) {
			return i, []string{prog, tok, "--help"}, nil
		}
		return i, nil, usagef("HOST PORT come before the command: rpctool HOST PORT %s ...", tok)
	case !r.addrDone:
		r.addr = append(r.addr, tok)
		if len(r.addr) == 1 {
			_, ok := splitAddr(tok)
			r.addrDone = ok || looksHostPort(tok)
		} else {
			r.addrDone = true
		}
	case r.cmd == "":
		if !addrCommands[tok] {
			return i, nil, usagef("unknown command %q (commands: list-targets, list-methods, call, interactive)", tok)
		}
		r.cmd = tok
	default:
		r.pos = append(r.pos, tok)
		if r.cmd == "call" {
			// after METHOD every word is an argument, "-5" included
			r.pos = append(r.pos, args[i+1:]...)
			i = len(args)
		}
	}
	return i, nil, nil
}

// result is the reordered command line.
func (r *reorderer) result(prog string) ([]string, error) {
	out := append([]string{prog}, r.globals...)
	if len(r.addr) == 0 {
		// no server named: --help, or the "missing HOST PORT" error
		return append(out, r.local...), nil
	}
	hostport, err := joinAddr(r.addr)
	if err != nil {
		return nil, err
	}
	cmd := r.cmd
	if cmd == "" {
		cmd = "interactive"
	}
	out = append(out, cmd)
	out = append(out, r.local...)
	out = append(out, "--", hostport)
	return append(out, r.pos...), nil
}

// splitAddr accepts "HOST:PORT" and "[IPv6]:PORT" as one word.
func splitAddr(tok string) (string, bool) {
	host, port, err := net.SplitHostPort(tok)
	if err != nil || host == "" || !validPort(port) {
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// joinAddr turns the address words (HOST:PORT, or HOST PORT with HOST
// possibly a bare or bracketed IPv6 literal) into "host:port".
func joinAddr(words []string) (string, error) {
	if len(words) == 1 {
		if a, ok := splitAddr(words[0]); ok {
			return a, nil
		}
		if looksHostPort(words[0]) {
			port := words[0][strings.LastIndex(words[0], ":")+1:]
			return "", usagef("invalid port %q in %q: want a number from 1 to 65535", port, words[0])
		}
		return "", usagef("missing PORT after HOST %q (give HOST PORT or HOST:PORT)", words[0])
	}
	host := strings.TrimSuffix(strings.TrimPrefix(words[0], "["), "]")
	if host == "" {
		return "", usagef("empty HOST")
	}
	if !validPort(words[1]) {
		return "", usagef("invalid PORT %q: want a number from 1 to 65535", words[1])
	}
	return net.JoinHostPort(host, words[1]), nil
}

// looksHostPort reports whether a word is meant as HOST:PORT, even with a
// bad port: one colon (not an IPv6 address), or "[...]:".
func looksHostPort(w string) bool {
	return strings.Count(w, ":") == 1 || (strings.HasPrefix(w, "[") && strings.Contains(w, "]:"))
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535 && s[0] != '+'
}

// wantsHelp reports whether -h or --help is among the flag words.
func wantsHelp(words []string) bool {
	for _, w := range words {
		if w == "--" {
			return false
		}
		if w == "-h" || w == "--help" || w == "-help" {
			return true
		}
	}
	return false
}
