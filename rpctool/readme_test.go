package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReadme runs the README's rpctool commands against the real example
// controller: each "$ go run ./rpctool ..." line of its console blocks
// (output compared line by line, "..." standing for anything) and each
// "rpctool ..." line of its sh blocks (exit status 0). Commands that need
// a second program (TLS, browser) are checked by the tests of those
// programs.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example controller")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "controller")
	if out, err := exec.Command(goTool, "build", "-o", bin, "../examples/sigoco-controller").CombinedOutput(); err != nil {
		t.Fatalf("building the controller: %v\n%s", err, out)
	}
	ctl := exec.Command(bin, "--port", "0")
	stderr, err := ctl.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Process.Signal(os.Interrupt); ctl.Wait() })
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	go io.Copy(io.Discard, stderr)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "controller: serving target lda on ")
	if !ok {
		t.Fatalf("controller said %q", line)
	}
	host, port := splitHostPortT(t, addr)
	fix := strings.NewReplacer("127.0.0.1 3253", host+" "+port, "127.0.0.1:3253", addr)

	n := 0
	for _, blk := range codeBlocks(string(readme), "console") {
		for _, c := range consoleCommands(blk) {
			cmd, ok := strings.CutPrefix(c.cmd, "go run ./rpctool ")
			if !ok {
				continue
			}
			n++
			wantExit := 0
			if rest, found := strings.CutSuffix(cmd, `; echo "exit $?"`); found {
				cmd = rest
				wantExit = -1 // the block says which
			}
			args := shellWords(t, fix.Replace(stripComment(cmd)))
			r := runTool(t, strings.NewReader(strings.Join(c.input, "\n")+"\n"), args...)
			got := r.stdout + r.stderr
			want := c.output
			if wantExit == -1 {
				want = append([]string(nil), c.output...)
				last := want[len(want)-1]
				want = want[:len(want)-1]
				got += "exit " + strconv.Itoa(r.code) + "\n"
				want = append(want, last)
			} else if r.code != 0 {
				t.Errorf("%s: exit %d\n%s", c.cmd, r.code, got)
				continue
			}
			if err := matchLines(fix, got, want); err != "" {
				t.Errorf("%s: %s\ngot:\n%s", c.cmd, err, got)
			}
		}
	}
	for _, blk := range codeBlocks(string(readme), "sh") {
		for _, l := range strings.Split(blk, "\n") {
			cmd, ok := strings.CutPrefix(strings.TrimSpace(l), "rpctool ")
			if !ok {
				continue
			}
			n++
			r := runTool(t, nil, shellWords(t, fix.Replace(stripComment(cmd)))...)
			if r.code != 0 {
				t.Errorf("%s: exit %d\n%s%s", l, r.code, r.stdout, r.stderr)
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d README commands found: has the README changed shape?", n)
	}
}

// codeBlocks returns the bodies of the fenced blocks of a language.
func codeBlocks(md, lang string) []string {
	re := regexp.MustCompile("(?ms)^```" + lang + "\n(.*?)^```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

type consoleCmd struct {
	cmd    string
	input  []string // lines typed after an interactive prompt
	output []string
}

var promptRe = regexp.MustCompile(`^\S+ \(lda\)> (.*)$`)

// consoleCommands splits a console block into "$ command" and its output;
// lines after an interactive prompt are input.
func consoleCommands(blk string) []consoleCmd {
	var out []consoleCmd
	for _, l := range strings.Split(strings.TrimRight(blk, "\n"), "\n") {
		if c, ok := strings.CutPrefix(l, "$ "); ok {
			out = append(out, consoleCmd{cmd: c})
			continue
		}
		if len(out) == 0 {
			continue
		}
		cur := &out[len(out)-1]
		if m := promptRe.FindStringSubmatch(l); m != nil {
			cur.input = append(cur.input, m[1])
			continue
		}
		cur.output = append(cur.output, l)
	}
	return out
}

func stripComment(cmd string) string {
	if i := strings.Index(cmd, "  #"); i >= 0 {
		cmd = cmd[:i]
	}
	return strings.TrimSpace(cmd)
}

// shellWords splits a command line as sh would for these simple lines.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// matchLines checks that the wanted lines appear in got in order; "..."
// alone skips any lines, "..." inside a line stands for any text.
func matchLines(fix *strings.Replacer, got string, want []string) string {
	lines := strings.Split(got, "\n")
	i := 0
	for _, w := range want {
		w = fix.Replace(w)
		if w == "..." {
			continue
		}
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(w), regexp.QuoteMeta("..."), ".*") + "$")
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			return "missing line " + w
		}
		i++
	}
	return ""
}
