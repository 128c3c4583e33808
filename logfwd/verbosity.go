package logfwd

import (
	"log/slog"

	"github.com/urfave/cli/v2"
)

// Names of the flags VerbosityFlags returns.
const (
	VerboseFlag = "verbose"
	QuietFlag   = "quiet"
)

// VerbosityFlags returns -v/--verbose and -q/--quiet, SiPyCo's
// verbosity_args for urfave/cli programs: both may be repeated (-v -v, or
// -vv when the App sets UseShortOptionHandling). Read the result with
// VerbosityLevel. Each call returns new flags, so two Apps never share
// state.
func VerbosityFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: VerboseFlag, Aliases: []string{"v"}, Usage: "log more (repeat for more)"},
		&cli.BoolFlag{Name: QuietFlag, Aliases: []string{"q"}, Usage: "log less (repeat for less)"},
	}
}

// VerbosityLevel returns the log level the -v/-q flags ask for: like
// SiPyCo, WARNING by default, one level lower (slog.LevelInfo, then
// slog.LevelDebug, then below) per -v and one higher per -q.
func VerbosityLevel(c *cli.Context) slog.Level {
	return LevelFromVerbosity(c.Count(VerboseFlag), c.Count(QuietFlag))
}

// LevelFromVerbosity is VerbosityLevel for counts obtained otherwise.
func LevelFromVerbosity(verbose, quiet int) slog.Level {
	return slog.LevelWarn + slog.Level(4*(quiet-verbose))
}
