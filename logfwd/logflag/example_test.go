package logflag_test

import (
	"fmt"
	"os"

	"github.com/sigoco/sigoco/logfwd/logflag"
	"github.com/urfave/cli/v2"
)

// SiPyCo's -v/-q flags for a urfave/cli program.
func ExampleFlags() {
	app := &cli.App{
		Name:                   "ctl",
		Flags:                  logflag.Flags(),
		UseShortOptionHandling: true,
		Action: func(c *cli.Context) error {
			fmt.Println(logflag.Level(c))
			return nil
		},
	}
	app.Run([]string{"ctl", "-vv"})
	// Output: DEBUG
}

// A single-command program's --help without urfave/cli's boilerplate.
func ExamplePlainHelp() {
	app := logflag.PlainHelp(&cli.App{
		Name:   "ctl",
		Usage:  "drive the attenuator",
		Writer: os.Stdout,
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "port", Value: 3253, Usage: "TCP port to listen on"},
		}, logflag.Flags()...),
		Action: func(*cli.Context) error { return nil },
	})
	app.Run([]string{"ctl", "--help"})
	// Output:
	// NAME:
	//    ctl - drive the attenuator
	//
	// USAGE:
	//    ctl [options]
	//
	// OPTIONS:
	//    --port value   TCP port to listen on (default: 3253)
	//    --verbose, -v  log more (repeat for more)
	//    --quiet, -q    log less (repeat for less)
	//    --help, -h     show help
}
