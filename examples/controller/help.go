package main

import "github.com/urfave/cli/v2"

// helpTemplate is --help without urfave/cli's boilerplate (no commands
// section for a program without commands, no "global" options, no
// "(default: false)").
const helpTemplate = `NAME:
   {{.Name}} - {{.Usage}}

USAGE:
   {{.UsageText}}

OPTIONS:
{{range .VisibleFlags}}   {{.}}
{{end}}`

// quietBools hides "(default: false)" on the boolean flags.
func quietBools(flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		if b, ok := f.(*cli.BoolFlag); ok {
			b.DisableDefaultText = true
		}
	}
	return flags
}
