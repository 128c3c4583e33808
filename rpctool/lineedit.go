package main

import (
	"errors"
	"io"
	"os"

	"github.com/peterh/liner"
)

// The line editor of the interactive mode on a terminal is
// github.com/peterh/liner: cursor movement, wide characters, history
// (Up/Down, Ctrl-R), tab completion (a second Tab lists the choices),
// Ctrl-C to drop the line and Ctrl-D on an empty line to quit.
//
// liner works on the process's own standard input and output (file
// descriptors 0 and 1), so it is used only when env.stdin and env.stdout
// are os.Stdin and os.Stdout and both are terminals; otherwise lines are
// read plainly.

// errLineCancelled is returned by readLine for Ctrl-C.
var errLineCancelled = errors.New("line cancelled")

type lineEditor struct {
	st *liner.State
}

// canEdit reports whether the line editor can run on stdin and stdout.
func canEdit(stdin io.Reader, stdout io.Writer) bool {
	in, _ := stdin.(*os.File)
	out, _ := stdout.(*os.File)
	return in != nil && out != nil && in.Fd() == os.Stdin.Fd() && out.Fd() == os.Stdout.Fd() &&
		isTerminal(in) && isTerminal(out) && liner.TerminalSupported()
}

// newLineEditor puts the terminal in line-editing mode with history as the
// initial history; Close restores it.
func newLineEditor(history []string, complete func(before string) (start int, candidates []string)) *lineEditor {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	for _, h := range history {
		st.AppendHistory(h)
	}
	st.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		runes := []rune(line)
		pos = min(max(pos, 0), len(runes))
		start, cands := complete(string(runes[:pos]))
		start = min(max(start, 0), pos)
		return string(runes[:start]), cands, string(runes[pos:])
	})
	return &lineEditor{st: st}
}

// readLine reads one line. It returns io.EOF for Ctrl-D on an empty line
// (or the end of input) and errLineCancelled for Ctrl-C.
func (e *lineEditor) readLine(prompt string) (string, error) {
	line, err := e.st.Prompt(prompt)
	switch {
	case errors.Is(err, liner.ErrPromptAborted):
		return "", errLineCancelled
	case err != nil:
		return line, err
	}
	return line, nil
}

// add records line in the editor's history.
func (e *lineEditor) add(line string) { e.st.AppendHistory(line) }

// Close gives the terminal back its original mode.
func (e *lineEditor) Close() { e.st.Close() }
