//go:build race

package rpc

// raceEnabled: see TestIdleTimeoutClosesIdleConns.
const raceEnabled = true
