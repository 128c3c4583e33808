package main

import (
	"fmt"
	"strings"

	"github.com/sigoco/sigoco/rpc"
	"github.com/urfave/cli/v2"
)

// The actions receive "HOST:PORT [ARGS...]" as arguments (see argv.go).

func (t *tool) listTargets(c *cli.Context) error {
	addr, args := c.Args().First(), c.Args().Tail()
	if len(args) > 0 {
		return usagef("list-targets takes no arguments, got %q", args[0])
	}
	ctx, stop := t.env.interruptible(ctxOf(c))
	defer stop()
	client, err := t.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer client.Close()
	return t.printTargets(client)
}

func (t *tool) printTargets(client *rpc.Client) error {
	if t.out.json {
		return t.out.writeJSON(jsonObject{{"targets", nonNil(client.Targets())}, {"description", client.Description()}})
	}
	// sipyco_rpctool's layout, which people's scripts may grep.
	var sb strings.Builder
	sb.WriteString("Target(s):   " + strings.Join(client.Targets(), ", ") + "\n")
	if d := client.Description(); d != "" {
		sb.WriteString("Description: " + d + "\n")
	}
	_, err := fmt.Fprint(t.out.stdout, sb.String())
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (t *tool) listMethods(c *cli.Context) error {
	addr, names := c.Args().First(), c.Args().Tail()
	ctx, stop := t.env.interruptible(ctxOf(c))
	defer stop()
	client, err := t.connect(ctx, addr, c.String("target"))
	if err != nil {
		return err
	}
	defer client.Close()
	info, err := t.methodList(ctx, client)
	if err != nil {
		return err
	}
	return t.printMethods(info, names, true)
}

// printMethods lists info's methods, only those named when names is not
// empty; withDoc adds the target's doc comment.
func (t *tool) printMethods(info *rpc.TargetInfo, names []string, withDoc bool) error {
	methods := info.Methods
	if len(names) > 0 {
		methods = nil
		for _, n := range names {
			m, ok := findMethod(info, n)
			if !ok {
				return &unknownError{what: "method", name: n}
			}
			methods = append(methods, m)
		}
	}
	if t.out.json {
		list := make([]any, len(methods))
		for i, m := range methods {
			params := make([]any, len(m.Params))
			for j, p := range m.Params {
				params[j] = jsonObject{{"name", p.Name}, {"type", p.Type}}
			}
			list[i] = jsonObject{{"name", m.Name}, {"go_name", m.GoName}, {"params", params},
				{"results", nonNil(m.Results)}, {"variadic", m.Variadic}, {"doc", m.Doc}}
			if m.Signature != "" { // SiPyCo servers
				list[i] = append(list[i].(jsonObject), jsonMember{"signature", m.Signature})
			}
		}
		if !withDoc {
			return t.out.writeJSON(list)
		}
		return t.out.writeJSON(jsonObject{{"target", info.Name}, {"doc", info.Doc}, {"methods", list}})
	}
	var sb strings.Builder
	if withDoc && strings.TrimSpace(info.Doc) != "" {
		sb.WriteString(strings.TrimSpace(info.Doc) + "\n\n")
	}
	for i, m := range methods {
		// sipyco_rpctool ends every method with a blank line; the text
		// format only separates them.
		if i > 0 && !t.out.sipyco {
			sb.WriteString("\n")
		}
		sb.WriteString(t.signature(m) + "\n")
		if doc := strings.TrimSpace(m.Doc); doc != "" {
			for _, line := range strings.Split(doc, "\n") {
				sb.WriteString(strings.TrimRight("    "+line, " ") + "\n")
			}
		}
		if t.out.sipyco {
			sb.WriteString("\n")
		}
	}
	_, err := fmt.Fprint(t.out.stdout, sb.String())
	return err
}

// findMethod looks a method up by wire name or Go name.
func findMethod(info *rpc.TargetInfo, name string) (rpc.MethodInfo, bool) {
	for _, m := range info.Methods {
		if m.Name == name || m.GoName == name {
			return m, true
		}
	}
	return rpc.MethodInfo{}, false
}

// signature renders "name(a int64, b float64) (float64, error)", or for
// a SiPyCo server the Python signature sipyco_rpctool prints:
// "add(self, a, b=1, *, scale=1)".
func (t *tool) signature(m rpc.MethodInfo) string {
	if m.Signature != "" {
		return paint(t.out.pr.colour, "1", m.Name) + m.Signature
	}
	params := make([]string, len(m.Params))
	for i, p := range m.Params {
		params[i] = strings.TrimSpace(p.Name + " " + p.Type)
	}
	res := ""
	switch len(m.Results) {
	case 0:
	case 1:
		res = " " + m.Results[0]
	default:
		res = " (" + strings.Join(m.Results, ", ") + ")"
	}
	return paint(t.out.pr.colour, "1", m.Name) + "(" + strings.Join(params, ", ") + ")" + res
}

func (t *tool) call(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) < 2 {
		return usagef("missing METHOD: rpctool HOST PORT call [-t TARGET] METHOD [ARG...]")
	}
	addr, method := args[0], args[1]
	a, err := parseCallArgs(args[2:], t.env.stdin)
	if err != nil {
		return err
	}
	ctx, stop := t.env.interruptible(ctxOf(c))
	defer stop()
	client, err := t.connect(ctx, addr, c.String("target"))
	if err != nil {
		return err
	}
	defer client.Close()
	v, err := t.callMethod(ctx, client, method, a)
	if err != nil {
		return err
	}
	return t.out.result(v)
}
