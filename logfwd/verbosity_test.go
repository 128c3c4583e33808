package logfwd

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestVerbosityFlags(t *testing.T) {
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
				Flags:                  VerbosityFlags(),
				UseShortOptionHandling: true,
				Action:                 func(ctx *cli.Context) error { got = VerbosityLevel(ctx); return nil },
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
