package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// A small line editor for the interactive mode on a terminal: cursor
// movement (arrows, Home/End, Ctrl-A/E/B/F), deletion (Backspace, Delete,
// Ctrl-D/K/U/W), history (Up/Down, Ctrl-P/N), tab completion, Ctrl-C to
// abandon the line, Ctrl-D on an empty line to quit, Ctrl-L to clear the
// screen. Long lines scroll horizontally. Every character is taken as one
// column wide (wide East Asian characters misplace the cursor).

// errLineCancelled is returned by readLine for Ctrl-C.
var errLineCancelled = errors.New("line cancelled")

type editor struct {
	in       *os.File // the terminal
	out      io.Writer
	history  []string
	complete func(before string) (start int, candidates []string) // start: rune index of the word completed
	pending  []byte                                               // bytes read but not used yet
}

// Keys other than printable characters.
const (
	keyNone rune = -iota - 1
	keyEnter
	keyBackspace
	keyDelete
	keyLeft
	keyRight
	keyUp
	keyDown
	keyHome
	keyEnd
	keyTab
	keyCtrlC
	keyCtrlD
	keyCtrlK
	keyCtrlL
	keyCtrlU
	keyCtrlW
)

var ctrlKeys = map[byte]rune{
	0x01: keyHome, 0x02: keyLeft, 0x03: keyCtrlC, 0x04: keyCtrlD, 0x05: keyEnd,
	0x06: keyRight, 0x08: keyBackspace, 0x09: keyTab, 0x0a: keyEnter, 0x0b: keyCtrlK,
	0x0c: keyCtrlL, 0x0d: keyEnter, 0x0e: keyDown, 0x10: keyUp, 0x15: keyCtrlU,
	0x17: keyCtrlW, 0x7f: keyBackspace,
}

func (e *editor) byte() (byte, error) {
	if len(e.pending) == 0 {
		buf := make([]byte, 256)
		n, err := e.in.Read(buf)
		if n == 0 {
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
		e.pending = buf[:n]
	}
	b := e.pending[0]
	e.pending = e.pending[1:]
	return b, nil
}

// key reads one key press: a printable rune or a key constant.
func (e *editor) key() (rune, error) {
	b, err := e.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case b == 0x1b:
		return e.escape()
	case b < 0x20 || b == 0x7f:
		if k, ok := ctrlKeys[b]; ok {
			return k, nil
		}
		return keyNone, nil
	case b < utf8.RuneSelf:
		return rune(b), nil
	}
	// a multi-byte UTF-8 character
	seq := []byte{b}
	for !utf8.FullRune(seq) {
		c, err := e.byte()
		if err != nil {
			return 0, err
		}
		seq = append(seq, c)
	}
	r, _ := utf8.DecodeRune(seq)
	if r == utf8.RuneError {
		return keyNone, nil
	}
	return r, nil
}

// escape reads the rest of an escape sequence (ESC already read).
func (e *editor) escape() (rune, error) {
	b, err := e.byte()
	if err != nil {
		return 0, err
	}
	switch b {
	case 'O': // SS3: ESC O H, ESC O A, ...
		c, err := e.byte()
		if err != nil {
			return 0, err
		}
		return csiKey(c, ""), nil
	case '[':
		var params []byte
		for {
			c, err := e.byte()
			if err != nil {
				return 0, err
			}
			if c >= 0x40 && c <= 0x7e {
				return csiKey(c, string(params)), nil
			}
			params = append(params, c)
			if len(params) > 16 {
				return keyNone, nil
			}
		}
	}
	// ESC followed by something else: drop the ESC, keep the key.
	e.pending = append([]byte{b}, e.pending...)
	return keyNone, nil
}

func csiKey(final byte, params string) rune {
	switch final {
	case 'A':
		return keyUp
	case 'B':
		return keyDown
	case 'C':
		return keyRight
	case 'D':
		return keyLeft
	case 'H':
		return keyHome
	case 'F':
		return keyEnd
	case '~':
		switch params {
		case "1", "7":
			return keyHome
		case "4", "8":
			return keyEnd
		case "3":
			return keyDelete
		}
	}
	return keyNone
}

// readLine reads one line with editing. It returns io.EOF for Ctrl-D on an
// empty line (or end of input) and errLineCancelled for Ctrl-C.
func (e *editor) readLine(prompt string) (string, error) {
	restore, err := makeRaw(e.in)
	if err != nil {
		return "", err
	}
	defer restore()
	var buf []rune
	pos, hist, saved := 0, len(e.history), ""
	e.refresh(prompt, buf, pos)
	for {
		k, err := e.key()
		if err != nil {
			if len(buf) > 0 && errors.Is(err, io.EOF) {
				io.WriteString(e.out, "\n")
				return string(buf), nil
			}
			return "", io.EOF // a closed terminal reads as the end
		}
		switch k {
		case keyEnter:
			io.WriteString(e.out, "\n")
			return string(buf), nil
		case keyCtrlC:
			io.WriteString(e.out, "^C\n")
			return "", errLineCancelled
		case keyCtrlD:
			if len(buf) == 0 {
				io.WriteString(e.out, "\n")
				return "", io.EOF
			}
			fallthrough
		case keyDelete:
			if pos < len(buf) {
				buf = append(buf[:pos], buf[pos+1:]...)
			}
		case keyBackspace:
			if pos > 0 {
				buf = append(buf[:pos-1], buf[pos:]...)
				pos--
			}
		case keyLeft:
			pos = max(pos-1, 0)
		case keyRight:
			pos = min(pos+1, len(buf))
		case keyHome:
			pos = 0
		case keyEnd:
			pos = len(buf)
		case keyCtrlK:
			buf = buf[:pos]
		case keyCtrlU:
			buf = append([]rune(nil), buf[pos:]...)
			pos = 0
		case keyCtrlW:
			i := pos
			for i > 0 && buf[i-1] == ' ' {
				i--
			}
			for i > 0 && buf[i-1] != ' ' {
				i--
			}
			buf = append(buf[:i], buf[pos:]...)
			pos = i
		case keyCtrlL:
			io.WriteString(e.out, "\x1b[H\x1b[2J")
		case keyUp, keyDown:
			if k == keyUp && hist > 0 {
				if hist == len(e.history) {
					saved = string(buf)
				}
				hist--
			} else if k == keyDown && hist < len(e.history) {
				hist++
			} else {
				break
			}
			line := saved
			if hist < len(e.history) {
				line = e.history[hist]
			}
			buf, pos = []rune(line), len([]rune(line))
		case keyTab:
			buf, pos = e.tab(prompt, buf, pos)
		case keyNone:
		default:
			buf = append(buf[:pos], append([]rune{k}, buf[pos:]...)...)
			pos++
		}
		e.refresh(prompt, buf, pos)
	}
}

// tab completes the word before the cursor, or lists the choices.
func (e *editor) tab(prompt string, buf []rune, pos int) ([]rune, int) {
	if e.complete == nil {
		return buf, pos
	}
	start, cands := e.complete(string(buf[:pos]))
	if len(cands) == 0 || start > pos {
		io.WriteString(e.out, "\a")
		return buf, pos
	}
	word := string(buf[start:pos])
	common := cands[0]
	for _, c := range cands[1:] {
		for !strings.HasPrefix(c, common) {
			common = common[:len(common)-1]
		}
	}
	add := strings.TrimPrefix(common, word)
	if len(cands) == 1 && !strings.HasSuffix(add, "=") && !strings.HasSuffix(common, "=") {
		add += " "
	}
	if add != "" && strings.HasPrefix(common, word) {
		ins := []rune(add)
		buf = append(buf[:pos], append(ins, buf[pos:]...)...)
		return buf, pos + len(ins)
	}
	if len(cands) > 1 {
		fmt.Fprintf(e.out, "\n%s\n", strings.Join(cands, "  "))
	}
	return buf, pos
}

// refresh redraws the line, scrolled so that the cursor is visible.
func (e *editor) refresh(prompt string, buf []rune, pos int) {
	width := termWidth(e.in)
	if width <= 0 {
		width = 80
	}
	plen := utf8.RuneCountInString(prompt)
	avail := width - plen - 1
	if avail < 8 {
		prompt, plen, avail = "> ", 2, max(width-3, 1)
	}
	start := 0
	if pos > avail {
		start = pos - avail
	}
	end := min(len(buf), start+avail)
	var sb strings.Builder
	sb.WriteString("\r" + prompt + string(buf[start:end]) + "\x1b[K\r")
	if col := plen + pos - start; col > 0 {
		fmt.Fprintf(&sb, "\x1b[%dC", col)
	}
	io.WriteString(e.out, sb.String())
}
