// Command rpctool lists the targets and methods of a sigoco (or SiPyCo)
// RPC server and calls them from the shell, one call per command line, in
// an interactive session, or from a script on standard input:
//
//	rpctool 127.0.0.1 3253 list-targets
//	rpctool 127.0.0.1 3253 list-methods -t lda
//	rpctool 127.0.0.1 3253 call -t lda set_attenuation 5
//	rpctool 127.0.0.1:3253                 # interactive
//
// Arguments are Python literals read by a parser that never evaluates
// anything (literal.go); results print as Python literals (format.go) or
// as JSON with --json (jsonout.go). Exit codes are in exitcodes.go and in
// rpctool --help.
//
// Files: argv.go puts sipyco_rpctool's word order into the order
// urfave/cli parses; cli.go defines the app and its flags; commands.go,
// connect.go the commands; interactive.go, callline.go, lineedit.go (the
// line editor: github.com/peterh/liner) and history.go the interactive
// mode; completion.go the shell completion scripts. Terminals are detected
// with golang.org/x/term.
//
// # Concurrency
//
// rpctool is a sequential program: one goroutine runs the command, and
// each blocking step (dial, call) runs under a context that Ctrl-C and the
// --timeout / --connect-timeout limits cancel. The only other goroutine
// is the one that turns SIGINT into that cancellation, started and
// stopped around each step (signals.go), and, on a terminal, the line
// editor's key reader while a line is being typed.
package main
