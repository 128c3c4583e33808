package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// These tests keep bench compiling and its peers working in CI: they
// check the command line and run every peer once on a tiny workload. They
// measure nothing.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nosuch"}},
		{"no such suite", []string{"-only", "nosuch"}},
		{"extra argument", []string{"-quick", "rpc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run(tc.args, &out, &errs); code != 2 {
				t.Errorf("run(%q) = %d, want 2 (stderr %q)", tc.args, code, errs.String())
			}
			if out.Len() != 0 {
				t.Errorf("run(%q) printed figures: %q", tc.args, out.String())
			}
		})
	}
}

func TestSuitesRegistered(t *testing.T) {
	var names []string
	for _, s := range suites {
		names = append(names, s.name)
	}
	for _, want := range []string{"logfwd", "pyon", "rpc", "sync", "jobs"} {
		if !slices.Contains(names, want) {
			t.Errorf("suite %q not registered (have %q)", want, names)
		}
	}
}

// TestQuickSuite runs the smallest suite in quick mode and checks the
// format of its lines.
func TestQuickSuite(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-quick", "-only", "pyon"}, &out, &errs); code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, errs.String())
	}
	line := regexp.MustCompile(`^[a-z0-9_.]+ -?[0-9.]+ [A-Za-z/]+$`)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 5 {
		t.Fatalf("only %d lines: %q", len(lines), out.String())
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("line %q is not NAME VALUE UNIT", l)
		}
	}
}

func TestGRPCPeer(t *testing.T) {
	g, err := startGRPC()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.close)
	ctx := context.Background()
	if err := g.add(ctx); err != nil {
		t.Fatal(err)
	}
	x := []int64{1, -2, 1 << 40}
	y, err := g.echo(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, y) {
		t.Errorf("echo(%v) = %v", x, y)
	}
}

func TestNATSRequestReply(t *testing.T) {
	p, err := startNATSRPC()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	for range 3 {
		if err := p.add(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFanouts(t *testing.T) {
	const subs, mods = 3, 50
	size, err := modWireSize()
	if err != nil {
		t.Fatal(err)
	}
	if size < 64 || size > 512 {
		t.Errorf("a mod is %d bytes on the wire, want about 100", size)
	}
	for _, large := range []bool{true, false} {
		b, err := syncFanout(subs, mods, large)
		if err != nil {
			t.Fatalf("syncFanout(large=%v): %v", large, err)
		}
		if b.rate <= 0 || (large && b.count != 0) {
			t.Errorf("syncFanout(large=%v) = %v/s, %d resyncs", large, b.rate, b.count)
		}
	}
	if _, err := naiveFanout(subs, mods); err != nil {
		t.Fatalf("naiveFanout: %v", err)
	}
	ns, err := startNATSServer(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.stop)
	if b, err := natsFanout(ns, subs, mods, size); err != nil || b.count != 0 {
		t.Fatalf("natsFanout: %v (dropped %d)", err, b.count)
	}
	// Twice: the second round replaces the first one's bucket.
	for range 2 {
		if _, err := natsKVFanout(ns, subs, mods, size); err != nil {
			t.Fatalf("natsKVFanout: %v", err)
		}
	}
}

// The viewers' JSON parse (go-json) reads what encoding/json reads, numbers as the
// viewers need them, and refuses what it refuses.
func TestParseJSON(t *testing.T) {
	good := `[{"action":"setitem","path":["runs","r1","latest"],"key":"loss","value":{"v":0.25,"step":12,"big":1e300,"neg":-3,"f":2.0},"seq":9},` +
		` {"t":"sync","heartbeat_ms":2000,"s":"a\"b\\c\u00e9\n","ok":true,"no":false,"nil":null,"e":[],"o":{}}]`
	got, err := parseJSON([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal([]byte(good), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, intsOf(want)) {
		t.Fatalf("parsed %#v\nwant %#v", got, want)
	}
	for _, bad := range []string{``, `{`, `[1,]`, `{"a" 1}`, `{"a":1,}`, `"abc`, `tru`, `1 2`, `[1}`, "\"a\x01\"", `{"a":NaN}`} {
		if v, err := parseJSON([]byte(bad)); err == nil {
			t.Errorf("%q parsed as %#v", bad, v)
		}
	}
}
