package track

import (
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestParseNvidiaSMI(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want map[string]float64
	}{
		{"two GPUs", "0, 37, 1024, 16384, 45, 71.25\n1, 0, 10, 16384, 30, [N/A]\n", map[string]float64{
			"sys.gpu0.util_percent": 37, "sys.gpu0.mem_used_bytes": 1024 << 20, "sys.gpu0.mem_total_bytes": 16384 << 20, "sys.gpu0.temp_celsius": 45, "sys.gpu0.power_watts": 71.25,
			"sys.gpu1.util_percent": 0, "sys.gpu1.mem_used_bytes": 10 << 20, "sys.gpu1.mem_total_bytes": 16384 << 20, "sys.gpu1.temp_celsius": 30,
		}},
		{"not supported, no final newline", "3, [Not Supported], 5, 6, [N/A], 12.5", map[string]float64{
			"sys.gpu3.mem_used_bytes": 5 << 20, "sys.gpu3.mem_total_bytes": 6 << 20, "sys.gpu3.power_watts": 12.5,
		}},
		{"CRLF", "0, 1, 2, 3, 4, 5\r\n", map[string]float64{
			"sys.gpu0.util_percent": 1, "sys.gpu0.mem_used_bytes": 2 << 20, "sys.gpu0.mem_total_bytes": 3 << 20, "sys.gpu0.temp_celsius": 4, "sys.gpu0.power_watts": 5,
		}},
		{"malformed lines ignored", "No devices were found\n0, 1, 2\n0, 1, 2, 3, 4, 5, 6\nx, 1, 2, 3, 4, 5\n-1, 1, 2, 3, 4, 5\n64, 1, 2, 3, 4, 5\n1, NaN, Inf, 1e400, -Inf, 7\n", map[string]float64{
			"sys.gpu1.power_watts": 7,
		}},
		{"an index twice: the first line", "2, 10, 1, 1, 1, 1\n2, 20, 1, 1, 1, 1\n", map[string]float64{
			"sys.gpu2.util_percent": 10, "sys.gpu2.mem_used_bytes": 1 << 20, "sys.gpu2.mem_total_bytes": 1 << 20, "sys.gpu2.temp_celsius": 1, "sys.gpu2.power_watts": 1,
		}},
		{"empty", "", map[string]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseNvidiaSMI([]byte(tc.out))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestParseNvidiaSMIBounded: at most gpuMaxGPUs GPUs are read, however
// many lines there are.
func TestParseNvidiaSMIBounded(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "%d, 1, 2, 3, 4, 5\n", i%100)
	}
	if got := parseNvidiaSMI([]byte(b.String())); len(got) != gpuMaxGPUs*len(gpuFields) {
		t.Fatalf("%d values", len(got))
	}
}

func TestCappedBuffer(t *testing.T) {
	c := cappedBuffer{max: 5}
	for _, p := range []string{"abc", "defg", "hij"} {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if string(c.b) != "abcde" {
		t.Fatalf("kept %q", c.b)
	}
	c.reset()
	c.Write([]byte("xy"))
	if string(c.b) != "xy" {
		t.Fatalf("after reset %q", c.b)
	}
}

var gpuKeyRE = regexp.MustCompile(`^sys\.gpu(\d|[1-5]\d|6[0-3])\.(util_percent|mem_used_bytes|mem_total_bytes|temp_celsius|power_watts)$`)

// FuzzParseNvidiaSMI: any output gives well-named finite values of at
// most gpuMaxGPUs GPUs, allocating a small multiple of its size.
func FuzzParseNvidiaSMI(f *testing.F) {
	f.Add([]byte("0, 37, 1024, 16384, 45, 71.25\n1, 0, 10, 16384, 30, [N/A]\n"))
	f.Add([]byte("3, [Not Supported], 5, 6, [N/A], 12.5"))
	f.Add([]byte("No devices were found\n"))
	f.Add([]byte("1, NaN, Inf, 1e400, -Inf, 7\n,,,,,\n\n"))
	f.Add([]byte("0x10, 0x1p4, 1_0, +5, -0, .5\n"))
	var many []byte
	for i := range 100 {
		many = fmt.Appendf(many, "%d,1,2,3,4,5\n", i)
	}
	f.Add(many) // past gpuMaxGPUs, in little output
	f.Fuzz(func(t *testing.T, out []byte) {
		var got map[string]float64
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got = parseNvidiaSMI(out)
		runtime.ReadMemStats(&after)
		if a, bound := after.TotalAlloc-before.TotalAlloc, 16*uint64(len(out))+64<<10; a > bound {
			t.Fatalf("%d bytes of output allocated %d bytes (bound %d)", len(out), a, bound)
		}
		if len(got) > gpuMaxGPUs*len(gpuFields) {
			t.Fatalf("%d values", len(got))
		}
		for k, v := range got {
			if !gpuKeyRE.MatchString(k) || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s = %v", k, v)
			}
		}
	})
}
