// Package snake holds the one rule that turns a Go identifier into its
// Python-style wire name. rpc (method names), pyon (struct fields and
// keyword arguments) and fireforget use it, so a name is spelled the same
// on every wire.
package snake

import (
	"strings"
	"unicode"
)

// Case turns a Go identifier into its wire name: SetAttenuation →
// set_attenuation, GetHTTPStatus → get_http_status, UserID → user_id,
// Get2D → get2d, Base64Data → base64_data, ID → id.
//
// An underscore goes before an upper-case letter that follows a lower-case
// one, or that starts a new word after an acronym or a digit run
// (HTTPServer → http_server, Float64s2D → float64s2d). A digit never starts
// a word of its own, as Python authors write get2d, not get2_d.
func Case(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && rs[i-1] != '_' {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || ((unicode.IsUpper(prev) || unicode.IsDigit(prev)) && nextLower) {
					b.WriteByte('_')
				}
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
