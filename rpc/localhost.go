package rpc

import "net"

// LocalHost returns the host (IP address, no port) of the local end of
// the client's connection: the address by which the server's machine
// reaches this one, to hand to a server that must connect back (SiPyCo's
// Client.get_local_host). Over SiPyCo's protocol it is the latest
// connection's (a call abandoned by its context makes the next call
// connect again). "" if it is not an IP connection.
func (c *Client) LocalHost() string {
	var a net.Addr
	if c.sp != nil {
		la, _ := c.sp.local.Load().(localAddr)
		a = la.Addr
	} else if c.conn != nil {
		a = c.conn.LocalAddr()
	}
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return ""
	}
	return host
}

// localAddr boxes a net.Addr for an atomic.Value (which needs one
// concrete type, and no nil).
type localAddr struct{ net.Addr }
