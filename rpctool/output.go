package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sigoco/sigoco/rpc"
	"golang.org/x/term"
)

// output writes results to stdout and diagnostics to stderr, as text or
// JSON.
type output struct {
	stdout, stderr io.Writer
	json           bool
	sipyco         bool    // --output sipyco: sipyco_rpctool's text (pprint.go)
	compact        bool    // JSON on one line (interactive mode)
	pr             printer // for stdout
	errColour      bool
	errTerminal    bool // stderr is a terminal (where Ctrl-C echoed "^C")
}

// isTerminal reports whether f is a terminal. A character device is not
// enough (/dev/null is one): the terminal ioctl must succeed.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok || file == nil {
		return false
	}
	return term.IsTerminal(int(file.Fd()))
}

// useColour decides colour for one stream: mode is auto, always or never;
// auto means a terminal, no NO_COLOR and TERM not "dumb".
func useColour(mode string, w io.Writer, getenv func(string) string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w) && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

func paint(on bool, ansi, s string) string {
	if !on || s == "" {
		return s
	}
	return "\x1b[" + ansi + "m" + s + "\x1b[0m"
}

// result prints a call's result: nothing for nil in text mode.
func (o *output) result(v any) error {
	if o.json {
		return o.writeJSON(toJSON(v, 0))
	}
	if v == nil {
		return nil
	}
	if o.sipyco {
		_, err := fmt.Fprintln(o.stdout, pformat(v))
		return err
	}
	_, err := fmt.Fprintln(o.stdout, o.pr.format(v))
	return err
}

func (o *output) writeJSON(v any) error {
	b, err := encodeJSON(v, o.compact)
	if err != nil {
		return err
	}
	_, err = o.stdout.Write(b)
	return err
}

// error reports err on stderr; prefix starts the text line ("rpctool: ").
func (o *output) error(err error, prefix string) {
	code := exitCode(err)
	var re *rpc.RemoteError
	isRemote := errors.As(err, &re)
	if o.json {
		e := jsonObject{{"kind", errorKind(code)}, {"exit_code", code}}
		if isRemote {
			e = append(e, jsonMember{"message", re.Message}, jsonMember{"type", re.Type})
			if re.Traceback != "" {
				e = append(e, jsonMember{"traceback", re.Traceback})
			}
		} else {
			e = append(e, jsonMember{"message", err.Error()})
		}
		if b, jerr := encodeJSON(jsonObject{{"error", e}}, true); jerr == nil {
			o.stderr.Write(b)
		}
		return
	}
	var sb strings.Builder
	if o.errTerminal && errors.Is(err, errInterrupted) {
		sb.WriteString("\n") // start after the terminal's "^C"
	}
	if isRemote && re.Traceback != "" {
		sb.WriteString(paint(o.errColour, "2", "Remote traceback:") + "\n")
		for _, line := range strings.Split(strings.TrimRight(re.Traceback, "\n"), "\n") {
			sb.WriteString("  " + line + "\n")
		}
	}
	sb.WriteString(prefix)
	if isRemote {
		// Type is the part people look for: make it stand out.
		what := "remote error: "
		if code != exitRemote {
			what = ""
		}
		sb.WriteString(what + paint(o.errColour, "1;31", re.Type) + ": " + re.Message)
	} else {
		sb.WriteString(paint(o.errColour, "31", err.Error()))
	}
	sb.WriteString("\n")
	var ae *argError
	if errors.As(err, &ae) {
		if p := ae.pointer(); p != "" {
			sb.WriteString(p + "\n")
		}
	}
	io.WriteString(o.stderr, sb.String())
}
