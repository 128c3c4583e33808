package track

import (
	"slices"
	"testing"
)

// TestAddrDefaults: the address list comes from Addrs, else Addr, else
// the environment, each possibly comma-separated; Addr is its first.
func TestAddrDefaults(t *testing.T) {
	for _, c := range []struct {
		addrs     []string
		addr, env string
		want      []string
	}{
		{nil, "", "", []string{DefaultAddr}},
		{nil, "", "a:1, b:2,", []string{"a:1", "b:2"}},
		{nil, "c:3", "a:1,b:2", []string{"c:3"}},
		{nil, "c:3,d:4", "", []string{"c:3", "d:4"}},
		{[]string{"e:5", "f:6,g:7"}, "c:3", "a:1", []string{"e:5", "f:6", "g:7"}},
	} {
		o := Options{Addrs: c.addrs, Addr: c.addr}
		o.addrDefaults(c.env)
		if !slices.Equal(o.Addrs, c.want) || o.Addr != c.want[0] {
			t.Errorf("%+v: Addrs %q Addr %q; want %q", c, o.Addrs, o.Addr, c.want)
		}
	}
}
