package logflag

import "github.com/urfave/cli/v2"

// plainHelpTemplate is urfave/cli's AppHelpTemplate for a program without
// subcommands: "NAME [options]", no COMMANDS section, "OPTIONS".
const plainHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{if .UsageText}}{{wrap .UsageText 3}}{{else}}{{.HelpName}}{{if .VisibleFlags}} [options]{{end}}{{if .ArgsUsage}} {{.ArgsUsage}}{{end}}{{end}}{{if .Description}}

DESCRIPTION:
   {{template "descriptionTemplate" .}}{{end}}{{if .VisibleFlags}}

OPTIONS:{{template "visibleFlagTemplate" .}}{{end}}
`

// PlainHelp removes urfave/cli's boilerplate from app's --help and
// returns app: no "help" command (--help stays), no "(default: false)"
// after boolean flags that default to false, and, when app has no
// subcommands, a usage line "NAME [options]" instead of "NAME [global
// options] command [command options]" and no COMMANDS section. Call it
// once, before app.Run, after app.Flags is set; it changes only app and
// its flags, no package-level state of urfave/cli.
func PlainHelp(app *cli.App) *cli.App {
	app.HideHelpCommand = true
	for _, f := range app.Flags {
		if b, ok := f.(*cli.BoolFlag); ok && !b.Value {
			b.DisableDefaultText = true
		}
	}
	if len(app.Commands) == 0 && app.CustomAppHelpTemplate == "" {
		app.CustomAppHelpTemplate = plainHelpTemplate
	}
	return app
}
