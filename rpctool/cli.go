package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/sigoco/sigoco/wire"
	"github.com/urfave/cli/v2"
)

// env is what a run takes from the outside world; tests substitute it.
type env struct {
	stdin          io.Reader // *os.File for a terminal
	stdout, stderr io.Writer
	getenv         func(string) string
	signals        signaller // nil: os/signal
}

// tool is one run of rpctool: the parsed global options and the output.
type tool struct {
	env            *env
	out            *output
	timeout        time.Duration
	connectTimeout time.Duration
	tls            wire.TLSConfig
	token          string // --token, else $SIGOCO_TOKEN
	forceTLS       bool
	sipyco         bool   // --sipyco: speak only SiPyCo's pc_rpc
	completing     bool   // shell completion: no notes on stderr
	noted          bool   // the protocol fallback was reported
	historyFile    string // "" when history is off
}

// silentError ends a run with code after the problem was reported.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run runs rpctool with args (args[0] is the program name) and returns the
// exit code.
func run(ctx context.Context, args []string, e env) int {
	t := &tool{env: &e}
	t.out = &output{stdout: e.stdout, stderr: e.stderr, errColour: useColour("auto", e.stderr, e.getenv), errTerminal: isTerminal(e.stderr)}
	app := t.newApp()
	argv, err := reorderArgs(args, app)
	if err == nil {
		err = app.RunContext(ctx, argv)
	}
	err = explainFlagError(err, app)
	if err != nil {
		if se, ok := err.(*silentError); ok {
			return se.code
		}
		t.out.error(err, "rpctool: ")
		if _, usage := err.(*usageError); usage && !t.out.json {
			fmt.Fprintln(e.stderr, "Run 'rpctool --help' for usage.")
		}
	}
	return exitCode(err)
}

func targetFlag() cli.Flag {
	return &cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "`NAME` of the target (not needed when the server has only one)", EnvVars: []string{"RPCTOOL_TARGET"}}
}

// sslFlag is SiPyCo's "--ssl CERT KEY PEER". urfave/cli has no flag taking
// three values, so reorderArgs rewrites it as three --ssl VALUE and this
// flag collects them.
type sslFlag struct{ *cli.StringSliceFlag }

func (f sslFlag) String() string {
	return "--ssl CERT KEY PEER\tSiPyCo's form of --tls-cert CERT --tls-key KEY --tls-peer-cert PEER"
}

func (t *tool) newApp() *cli.App {
	usageErr := func(c *cli.Context, err error, _ bool) error { return &usageError{err} }
	cmd := func(c *cli.Command) *cli.Command {
		c.OnUsageError = usageErr
		return c
	}
	return &cli.App{
		Name:  "rpctool",
		Usage: "call methods of sigoco and SiPyCo RPC servers",
		UsageText: "rpctool [flags] HOST PORT [COMMAND] [command flags] [ARGS...]\n" +
			"rpctool [flags] HOST:PORT [COMMAND] ...   (IPv6: ::1 3253, [::1]:3253)\n" +
			"rpctool completion bash|zsh|fish",
		Description: descriptionHelp,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Usage: "time limit for each call, a `DURATION` such as 5s or 1m (0: none)", EnvVars: []string{"RPCTOOL_TIMEOUT"}},
			&cli.DurationFlag{Name: "connect-timeout", Value: 10 * time.Second, Usage: "time limit (`DURATION`) for connecting and selecting the target", EnvVars: []string{"RPCTOOL_CONNECT_TIMEOUT"}},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "`FORMAT` of results and errors: text, json, or sipyco (exactly what sipyco_rpctool prints: pprint's layout)", EnvVars: []string{"RPCTOOL_OUTPUT"}},
			&cli.BoolFlag{Name: "json", Usage: "same as --output json"},
			&cli.BoolFlag{Name: "sipyco-format", Usage: "same as --output sipyco"},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "colour output `WHEN`: auto (on a terminal, unless NO_COLOR is set), always, never", EnvVars: []string{"RPCTOOL_COLOR"}},
			&cli.PathFlag{Name: "tls-cert", Usage: "client certificate `FILE` (PEM), for servers that require one; turns TLS on", EnvVars: []string{"RPCTOOL_TLS_CERT"}},
			&cli.PathFlag{Name: "tls-key", Usage: "client private key `FILE` (PEM)", EnvVars: []string{"RPCTOOL_TLS_KEY"}},
			&cli.PathFlag{Name: "tls-peer-cert", Usage: "server certificate(s) to trust, `FILE` (PEM); the host name is then not checked; turns TLS on", EnvVars: []string{"RPCTOOL_TLS_PEER_CERT"}},
			&cli.BoolFlag{Name: "tls", Usage: "use TLS with the system's roots even without certificate files", EnvVars: []string{"RPCTOOL_TLS"}},
			&cli.StringFlag{Name: "token", Usage: "bearer `TOKEN` for a server with an access file (docs/security.md); default $SIGOCO_TOKEN. Sent only to sigoco servers"},
			&cli.BoolFlag{Name: "sipyco", Usage: "speak only SiPyCo's pc_rpc (Python/ARTIQ controllers); without it rpctool tries sigoco's protocol first and falls back by itself", EnvVars: []string{"RPCTOOL_SIPYCO"}},
			sslFlag{&cli.StringSliceFlag{Name: "ssl"}},
			&cli.StringFlag{Name: "history", Usage: "interactive history `FILE` (default: rpctool/history under $XDG_STATE_HOME or the user state directory)", EnvVars: []string{"RPCTOOL_HISTORY"}},
			&cli.BoolFlag{Name: "no-history", Usage: "do not read or write the interactive history"},
		},
		Commands: []*cli.Command{
			cmd(&cli.Command{
				Name:      "list-targets",
				Usage:     "list the server's targets and its description",
				UsageText: "rpctool [flags] HOST PORT list-targets",
				Action:    t.listTargets,
			}),
			cmd(&cli.Command{
				Name:      "list-methods",
				Usage:     "list the target's methods with their parameters and doc comments",
				UsageText: "rpctool [flags] HOST PORT list-methods [-t TARGET] [METHOD...]",
				Flags:     []cli.Flag{targetFlag()},
				Action:    t.listMethods,
			}),
			cmd(&cli.Command{
				Name:        "call",
				Usage:       "call a method and print its result",
				UsageText:   "rpctool [flags] HOST PORT call [-t TARGET] METHOD [ARG...] [NAME=ARG...]",
				Description: callHelp,
				Flags:       []cli.Flag{targetFlag()},
				Action:      t.call,
			}),
			cmd(&cli.Command{
				Name:        "interactive",
				Usage:       "read calls from the terminal or a script (the default command)",
				UsageText:   "rpctool [flags] HOST PORT [interactive] [-t TARGET]",
				Description: interactiveHelp,
				Flags:       []cli.Flag{targetFlag()},
				Action:      t.interactive,
			}),
			cmd(&cli.Command{
				Name:      "completion",
				Usage:     "print a shell completion script: bash, zsh or fish",
				UsageText: "rpctool completion bash|zsh|fish",
				Description: "bash: source <(rpctool completion bash)\n" +
					"zsh:  source <(rpctool completion zsh)   (after compinit)\n" +
					"fish: rpctool completion fish | source",
				Action: t.completion,
			}),
			{
				Name:            completeCommand,
				Hidden:          true,
				SkipFlagParsing: true,
				Action:          t.complete,
			},
		},
		Before:                t.setup,
		Action:                func(c *cli.Context) error { return usagef("missing HOST PORT") },
		OnUsageError:          usageErr,
		ExitErrHandler:        func(*cli.Context, error) {},
		HideVersion:           true,
		Reader:                t.env.stdin,
		Writer:                t.env.stdout,
		ErrWriter:             t.env.stderr,
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\n" + argumentsHelp + "\n\n" + jsonHelp + "\n\n" + exitCodesHelp + "\n",
	}
}

// setup reads the global flags.
func (t *tool) setup(c *cli.Context) error {
	format := c.String("output")
	if c.Bool("json") {
		format = "json"
	}
	if c.Bool("sipyco-format") {
		format = "sipyco"
	}
	switch format {
	case "text", "json", "sipyco":
	default:
		return usagef("--output must be text, json or sipyco, not %q", format)
	}
	mode := c.String("color")
	switch mode {
	case "auto", "always", "never":
	default:
		return usagef("--color must be auto, always or never, not %q", mode)
	}
	t.out.json = format == "json"
	t.out.sipyco = format == "sipyco"
	t.out.pr.colour = useColour(mode, t.env.stdout, t.env.getenv) && !t.out.sipyco
	t.out.errColour = useColour(mode, t.env.stderr, t.env.getenv)
	t.timeout = c.Duration("timeout")
	t.connectTimeout = c.Duration("connect-timeout")
	t.tls = wire.TLSConfig{CertFile: c.Path("tls-cert"), KeyFile: c.Path("tls-key"), PeerCertFile: c.Path("tls-peer-cert")}
	if ssl := c.StringSlice("ssl"); len(ssl) > 0 {
		if len(ssl) != 3 {
			return usagef("--ssl needs three files: --ssl CERT KEY PEER")
		}
		if t.tls.Enabled() {
			return usagef("use either --ssl or the --tls-... flags, not both")
		}
		t.tls = wire.TLSConfig{CertFile: ssl[0], KeyFile: ssl[1], PeerCertFile: ssl[2]}
	}
	if (t.tls.CertFile == "") != (t.tls.KeyFile == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	t.forceTLS = c.Bool("tls")
	if t.token = c.String("token"); t.token == "" {
		t.token = t.env.getenv("SIGOCO_TOKEN")
	}
	t.sipyco = c.Bool("sipyco")
	if !c.Bool("no-history") {
		t.historyFile = c.String("history")
		if t.historyFile == "" {
			t.historyFile = defaultHistoryFile(t.env.getenv)
		}
	}
	return nil
}

const descriptionHelp = `Lists the targets and methods of a sigoco or SiPyCo RPC server and calls
them from the shell. The command line of sipyco_rpctool works unchanged:
   rpctool ::1 3253 call -t lda set_attenuation 5
Flags go before or after the command; after METHOD every word is an
argument of the method (call add -5 3). With several targets, name one
with -t; with a single target it is picked automatically. A SiPyCo server
(a Python ARTIQ controller) is recognised by itself, with a note on
stderr; --sipyco speaks its protocol from the start. Results print as
Python literals, one item per line when long; --output sipyco
(--sipyco-format) prints exactly what sipyco_rpctool prints (pprint's
layout: sorted dicts, blank line after each listed method), for scripts
written against it.`

const argumentsHelp = `ARGUMENTS:
   Each ARG is one Python literal, read safely (never evaluated): 5, -5,
   0x1F, 1_000, 5.0, 1e-3, inf, nan, True/False/None (or true/false/null),
   'text' or "text" (escapes as in Python, r'' raw), b'bytes', 1+2j,
   [lists], (tuples,), {'dicts': 1, 2: 'any key'}, {sets}. NAME=ARG passes
   a keyword argument. @FILE reads one literal from FILE, @- from standard
   input. Quote for the shell: call set_name '"lda 1"'.`

const callHelp = `Calls METHOD with the given arguments (see ARGUMENTS in rpctool --help)
and prints the result as a Python literal (nothing for None), or as JSON
with --json. Flags must come before METHOD: everything after it is an
argument, so "call add -5 3" passes -5.`

const interactiveHelp = `Reads one call per line:
   set_attenuation(5, db=3)      Python style
   set_attenuation 5 db=3        shell style
and the commands help [METHOD], methods, targets, target NAME, exit/quit
(or Ctrl-D). On a terminal it offers line editing, tab completion of
method names and a history file; Ctrl-C abandons the line or the call in
progress. When standard input is not a terminal the lines run as a
script without a prompt; the exit code is 1 if any line failed.`

// ctxOf returns the context the app was run with.
func ctxOf(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}

// flagValueError matches urfave/cli's message for a flag value it cannot
// parse.
var flagValueError = regexp.MustCompile(`^invalid value "([^"]*)" for flag -{1,2}([A-Za-z0-9-]+): `)

// explainFlagError turns urfave/cli's "parse error" for a duration given
// without a unit (--timeout 5) into what to type instead.
func explainFlagError(err error, app *cli.App) error {
	if err == nil {
		return nil
	}
	m := flagValueError.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	if _, nerr := strconv.ParseFloat(m[1], 64); nerr != nil || !isDurationFlag(app, m[2]) {
		return err
	}
	return usagef("--%s %s: a duration needs a unit: --%s %ss (or 500ms, 2m)", m[2], m[1], m[2], m[1])
}

func isDurationFlag(app *cli.App, name string) bool {
	flags := append([]cli.Flag(nil), app.Flags...)
	for _, c := range app.Commands {
		flags = append(flags, c.Flags...)
	}
	for _, f := range flags {
		if _, ok := f.(*cli.DurationFlag); !ok {
			continue
		}
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
