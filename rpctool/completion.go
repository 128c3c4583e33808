package main

import (
	"context"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Shell completion: the scripts hand the words typed so far to the hidden
// command "rpctool __complete WORD... CURRENT", which prints the
// candidates, one per line. Targets and method names come from the server
// itself (with a short connect timeout), so they are always current.

const bashCompletion = `# bash completion for rpctool. Load it with:  source <(rpctool completion bash)
_rpctool_complete() {
    local line=${COMP_LINE:0:COMP_POINT} words
    read -ra words <<< "$line"
    [[ $line =~ [[:space:]]$ ]] && words+=("")
    local IFS=$'\n'
    COMPREPLY=($("${words[0]}" __complete "${words[@]:1}" 2>/dev/null))
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
        compopt -o nospace 2>/dev/null
    fi
}
complete -o default -F _rpctool_complete rpctool
`

const zshCompletion = `#compdef rpctool
# zsh completion for rpctool. Load it (after compinit) with:  source <(rpctool completion zsh)
_rpctool() {
    local -a cands
    cands=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    if (( ${#cands} )); then
        compadd -Q -- "${cands[@]}"
    else
        _files
    fi
}
compdef _rpctool rpctool
`

const fishCompletion = `# fish completion for rpctool. Load it with:  rpctool completion fish | source
function __rpctool_complete
    set -l tokens (commandline -opc)
    $tokens[1] __complete $tokens[2..-1] (commandline -ct) 2>/dev/null
end
complete -c rpctool -a '(__rpctool_complete)'
`

func (t *tool) completion(c *cli.Context) error {
	scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
	if c.NArg() != 1 || scripts[c.Args().First()] == "" {
		return usagef("usage: rpctool completion bash|zsh|fish")
	}
	_, err := io.WriteString(t.env.stdout, scripts[c.Args().First()])
	return err
}

// completeTimeout bounds the connection a completion makes: a shell must
// not hang on a server that does not answer.
const completeTimeout = 2 * time.Second

// complete prints the candidates for the last word.
func (t *tool) complete(c *cli.Context) error {
	t.completing = true
	words := c.Args().Slice()
	if len(words) == 0 {
		return nil
	}
	cur, prev := words[len(words)-1], words[:len(words)-1]
	var cands []string
	if isFlagWord(cur) || cur == "-" || cur == "--" {
		cands = t.flagCandidates()
	} else {
		cands = t.wordCandidates(ctxOf(c), prev)
	}
	sort.Strings(cands)
	var sb strings.Builder
	for i, s := range cands {
		if strings.HasPrefix(s, cur) && (i == 0 || cands[i-1] != s) {
			sb.WriteString(s + "\n")
		}
	}
	_, err := io.WriteString(t.env.stdout, sb.String())
	return err
}

func (t *tool) flagCandidates() []string {
	app := t.newApp()
	var out []string
	add := func(flags []cli.Flag) {
		for _, f := range flags {
			if n := f.Names()[0]; len(n) > 1 {
				out = append(out, "--"+n)
			}
		}
	}
	add(app.Flags)
	for _, cmd := range app.Commands {
		add(cmd.Flags)
	}
	return append(out, "--help")
}

// wordCandidates runs the command line typed so far through the app with
// every action replaced by one that lists what may come next.
func (t *tool) wordCandidates(ctx context.Context, prev []string) []string {
	wantTargets := false
	if n := len(prev); n > 0 && isFlagWord(prev[n-1]) {
		name, hasValue := flagName(prev[n-1])
		switch {
		case hasValue:
		case name == "t" || name == "target":
			wantTargets = true
			prev = prev[:n-1]
		case name == "o" || name == "output":
			return []string{"text", "json"}
		case name == "color":
			return []string{"auto", "always", "never"}
		case name == "ssl":
			return nil // files: the shell's own completion
		default:
			if flagArity(t.newApp().Flags, nil)[name] > 0 {
				return nil
			}
		}
	}
	sub := &tool{env: &env{stdout: io.Discard, stderr: io.Discard, getenv: t.env.getenv, signals: t.env.signals}}
	sub.out = &output{stdout: io.Discard, stderr: io.Discard}
	app := sub.newApp()
	var result []string
	for _, cmd := range app.Commands {
		name := cmd.Name
		cmd.Action = func(c *cli.Context) error {
			result = sub.candidatesFor(ctxOf(c), name, c.Args().Slice(), wantTargets, c.String("target"))
			return nil
		}
	}
	app.Action = func(*cli.Context) error {
		result = []string{"completion", "help"}
		return nil
	}
	argv, err := reorderArgs(append([]string{"rpctool"}, prev...), app)
	if err != nil {
		return nil
	}
	app.RunContext(ctx, argv)
	return result
}

func (t *tool) candidatesFor(ctx context.Context, cmd string, args []string, wantTargets bool, target string) []string {
	if cmd == "completion" {
		if len(args) == 0 {
			return []string{"bash", "fish", "zsh"}
		}
		return nil
	}
	if !addrCommands[cmd] || len(args) == 0 {
		return nil
	}
	rest := args[1:]
	if cmd == "interactive" && !wantTargets {
		if len(rest) == 0 {
			return []string{"call", "interactive", "list-methods", "list-targets"}
		}
		return nil
	}
	if cmd == "list-targets" && !wantTargets {
		return nil
	}
	t.connectTimeout = min(max(t.connectTimeout, time.Millisecond), completeTimeout)
	t.timeout = completeTimeout
	if wantTargets {
		client, err := t.dial(ctx, args[0])
		if err != nil {
			return nil
		}
		defer client.Close()
		return client.Targets()
	}
	// list-methods, or call before or after METHOD
	client, err := t.connect(ctx, args[0], target)
	if err != nil {
		return nil
	}
	defer client.Close()
	info, err := t.methodList(ctx, client)
	if err != nil {
		return nil
	}
	var out []string
	if cmd == "call" && len(rest) > 0 {
		if m, ok := findMethod(info, rest[0]); ok {
			for _, p := range m.Params {
				if p.Name != "" {
					out = append(out, p.Name+"=")
				}
			}
		}
		return out
	}
	for _, m := range info.Methods {
		out = append(out, m.Name)
	}
	return out
}
