package logflag

import (
	"log/slog"

	"github.com/urfave/cli/v2"
)

// Names of the flags Flags returns.
const (
	VerboseFlag = "verbose"
	QuietFlag   = "quiet"
)

// Flags returns -v/--verbose and -q/--quiet, SiPyCo's verbosity_args for
// urfave/cli programs: both may be repeated (-v -v, or -vv when the App
// sets UseShortOptionHandling). Read the result with Level. Each call
// returns new flags, so two Apps never share state.
func Flags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: VerboseFlag, Aliases: []string{"v"}, Usage: "log more (repeat for more)", DisableDefaultText: true},
		&cli.BoolFlag{Name: QuietFlag, Aliases: []string{"q"}, Usage: "log less (repeat for less)", DisableDefaultText: true},
	}
}

// Level returns the log level the -v/-q flags ask for: like SiPyCo,
// slog.LevelWarn by default, one level lower (slog.LevelInfo, then
// slog.LevelDebug, then below) per -v and one higher per -q.
func Level(c *cli.Context) slog.Level {
	return LevelFrom(slog.LevelWarn, c.Count(VerboseFlag), c.Count(QuietFlag))
}

// LevelFrom is Level for a program whose default is base rather than
// WARNING (logserver shows INFO by default) or for counts obtained
// otherwise: base, four slog steps lower per -v and higher per -q.
func LevelFrom(base slog.Level, verbose, quiet int) slog.Level {
	return base + slog.Level(4*(quiet-verbose))
}
