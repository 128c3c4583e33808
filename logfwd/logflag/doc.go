// Package logflag gives urfave/cli programs SiPyCo's logging flags and a
// --help without the framework's boilerplate. It lives apart from logfwd
// so that a program that only forwards logs does not import a CLI
// framework.
//
//	app := logflag.PlainHelp(&cli.App{
//		Name:  "controller",
//		Flags: append([]cli.Flag{ /* the program's own */ }, logflag.Flags()...),
//		Action: func(c *cli.Context) error {
//			level := logflag.Level(c) // WARNING, one step lower per -v
//			...
//		},
//	})
//
// Everything here is safe for concurrent use; Flags returns new flags on
// every call, so two Apps never share state.
package logflag
