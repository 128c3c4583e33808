package logflag

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestFlags(t *testing.T) {
	cases := []struct {
		args string
		want slog.Level
	}{
		{"", slog.LevelWarn},
		{"-v", slog.LevelInfo},
		{"-v -v", slog.LevelDebug},
		{"-vv", slog.LevelDebug},
		{"-vvv", slog.LevelDebug - 4},
		{"--verbose --verbose", slog.LevelDebug},
		{"-q", slog.LevelError},
		{"-qq", slog.LevelError + 4},
		{"-vv -q", slog.LevelInfo},
	}
	for _, c := range cases {
		t.Run(c.args, func(t *testing.T) {
			var got slog.Level
			app := &cli.App{
				Flags:                  Flags(),
				UseShortOptionHandling: true,
				Action:                 func(ctx *cli.Context) error { got = Level(ctx); return nil },
			}
			if err := app.Run(append([]string{"prog"}, strings.Fields(c.args)...)); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("level %v, want %v", got, c.want)
			}
		})
	}
}

func TestLevelFrom(t *testing.T) {
	if got := LevelFrom(slog.LevelInfo, 0, 0); got != slog.LevelInfo {
		t.Errorf("LevelFrom(Info, 0, 0) = %v", got)
	}
	if got := LevelFrom(slog.LevelInfo, 1, 0); got != slog.LevelDebug {
		t.Errorf("LevelFrom(Info, 1, 0) = %v", got)
	}
	if got := LevelFrom(slog.LevelInfo, 0, 1); got != slog.LevelWarn {
		t.Errorf("LevelFrom(Info, 0, 1) = %v", got)
	}
}

func TestPlainHelp(t *testing.T) {
	var out strings.Builder
	app := PlainHelp(&cli.App{
		Name:   "prog",
		Usage:  "does one thing",
		Writer: &out,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "bind", Value: "127.0.0.1", Usage: "address"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		}, Flags()...),
		Action: func(*cli.Context) error { return nil },
	})
	if err := app.Run([]string{"prog", "--help"}); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, bad := range []string{"[global options]", "command [command options]", "COMMANDS", "help, h", "(default: false)"} {
		if strings.Contains(help, bad) {
			t.Errorf("help shows %q:\n%s", bad, help)
		}
	}
	for _, want := range []string{"prog - does one thing", "prog [options]", "OPTIONS:", "--bind value", `(default: "127.0.0.1")`, "--json", "--verbose, -v", "--help, -h"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}
