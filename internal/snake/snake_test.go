package snake

import "testing"

func TestCase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SetAttenuation", "set_attenuation"},
		{"GetHTTPStatus", "get_http_status"},
		{"HTTPServer", "http_server"},
		{"UserID", "user_id"},
		{"ID", "id"},
		{"Get2D", "get2d"},
		{"Float64s2D", "float64s2d"},
		{"Sweep2DFast", "sweep2d_fast"},
		{"Base64Data", "base64_data"},
		{"Already_snake", "already_snake"},
		{"x", "x"},
		{"", ""},
		{"ÄrgerLevel", "ärger_level"},
		{"MaxRPS", "max_rps"},
		{"A1B2", "a1b2"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Case(tc.in); got != tc.want {
				t.Errorf("Case(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
