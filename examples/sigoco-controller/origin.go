package main

import (
	"net/http"
	"net/url"
	"strings"
)

// checkOrigin returns the WebSocket origin rule: a request without an
// Origin header (not from a browser) or from a page of the controller's own
// host and port is accepted (syncstruct's default rule); so is a page of
// one of allowed ("*" allows every origin). Origins are compared as
// scheme://host:port, case-insensitively.
func checkOrigin(allowed []string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
			return true
		}
		for _, a := range allowed {
			if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
				return true
			}
		}
		return false
	}
}
