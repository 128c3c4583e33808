// Package auth is who a connection is and what it may do: an Identity
// (a name, a Role, how it was authenticated), carried to handlers in the
// context (FromContext), and the access file that maps credentials to
// identities (Parse, Load).
//
// Every server of the toolkit that is given an Authenticator
// (rpc.ServerOptions.Auth, syncstruct.PublisherOptions.Auth,
// logfwd.ServerOptions.Auth) authenticates a connection before it serves
// it anything: from the token the client sent in its handshake, the TLS
// client certificate it presented, or neither (the anonymous identity).
// A connection that is refused is told why in the protocol's error
// message (SiPyCo's protocols, which have none, are closed). Without an
// Authenticator a server serves everyone, as before, and puts no identity
// in the context.
//
// # Why a package of its own
//
// rpc, syncstruct and logfwd may import only wire and pyon; trackd and
// the dashboard need the same identities. This package imports nothing of
// sigoco's, so all of them can share it.
//
// # Secrets
//
// Tokens are compared by their SHA-256 hash, in constant time against
// every entry of the file (no early exit), and the file may hold only the
// hash ("sha256:HEX"). Errors never repeat a presented token.
package auth
