// Package wirekeys holds only a test: one Go struct sent through every
// sigoco wire (native rpc, SiPyCo pc_rpc, native and WebSocket JSON sync,
// logs, memo storage, the dashboard's /api/call) arrives with the same
// keys, those of pyon's one struct-key rule, down to its nested structs
// and maps, and with its values (bytes as bytes).
package wirekeys
