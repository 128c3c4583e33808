"""A minimal client of SiPyCo's pc_rpc protocol (docs/sipyco.md), as trackd
serves it: the banner ``ARTIQ pc_rpc``, the server's identification line,
the target selection with the ``pyon_v2`` feature, then one PYON v2 request
line and one reply line per call. TLS with client certificates is SiPyCo's
SimpleSSLConfig: the server's certificate is the only one trusted, and the
client presents its own.
"""

import socket
import ssl

from . import pyon

__all__ = ["Client", "RemoteError", "IncompatibleServer", "ssl_context"]

MAX_LINE = 64 << 20  # a reply line, at most (trackd's rpc frame limit)

# TOKEN_FEATURE is the feature a server lists in its identification when it
# takes an access token on a line "SIGOCO token TOKEN" before the target
# selection (a sigoco server with an access file; docs/security.md). The
# line goes only to such a server: SiPyCo's own would take it for a target.
TOKEN_FEATURE = "sigoco_token"
TOKEN_LINE = "SIGOCO token %s\n"


class RemoteError(Exception):
    """An exception raised by the server's method: cls is its Python class
    name (ValueError, GenericRemoteException, ...), message its text."""

    def __init__(self, cls, message, traceback=None):
        super().__init__("%s: %s" % (cls, message))
        self.cls, self.message, self.traceback = cls, message, traceback or []


class IncompatibleServer(Exception):
    """The server is not a pc_rpc server with the target and PYON v2."""


class AuthError(ConnectionRefusedError):
    """trackd refused the token or run credential a connection presented
    (its message starts with "rpc: auth: ...")."""


def ssl_context(cert=None, key=None, peer_cert=None):
    """An ssl.SSLContext as SiPyCo's SimpleSSLConfig makes for a client:
    trust exactly peer_cert (the server's certificate, PEM), present
    cert/key (PEM). Host names are not checked (the certificate is pinned).
    """
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=peer_cert)
    ctx.check_hostname = False
    if peer_cert is None:
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


class Client:
    """One connection to one target. Calls are made one at a time (the
    protocol has no request ids); callers that share a client serialise.

    OSError (ConnectionError, socket.timeout, ssl.SSLError) means the
    server could not be reached or went away; RemoteError that it refused.
    """

    def __init__(self, host, port, target, *, ssl_context=None, timeout=10.0, token=None):
        self.target = target
        self.features = []
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:
                sock = ssl_context.wrap_socket(sock, server_hostname=host)
            self._sock = sock
            self._rf = sock.makefile("rb")
            sock.sendall(b"ARTIQ pc_rpc\n")
            ident = pyon.decode(self._readline())
            if not isinstance(ident, dict):
                raise IncompatibleServer("pc_rpc: bad identification %r" % (ident,))
            self.features = list(ident.get("features") or [])
            if "pyon_v2" not in self.features:
                raise IncompatibleServer("pc_rpc: the server does not speak PYON v2")
            if target not in (ident.get("targets") or []):
                raise IncompatibleServer("pc_rpc: the server has no target %r (it has %r)" % (target, ident.get("targets")))
            if token and TOKEN_FEATURE in self.features and "\n" not in token:
                sock.sendall((TOKEN_LINE % token).encode("utf-8"))
            sock.sendall(("%s pyon_v2\n" % target).encode("utf-8"))
            line = self._readline()
            if line.startswith(b"SIGOCO error:"):
                # trackd refused the token (or run credential) it was sent
                raise AuthError(line[len(b"SIGOCO error:"):].decode("utf-8", "replace").strip())
            self.methods = pyon.decode(line)
        except BaseException:
            sock.close()
            raise

    def _readline(self):
        line = self._rf.readline(MAX_LINE + 1)
        if not line:
            raise ConnectionError("pc_rpc: the server closed the connection")
        if not line.endswith(b"\n"):
            raise ConnectionError("pc_rpc: a line over %d bytes" % MAX_LINE)
        return line

    def settimeout(self, t):
        self._sock.settimeout(t)

    def call_raw(self, name, args_text):
        """Call name with args_text, the PYON text (str, or UTF-8 bytes) of
        the argument list (``[a, b]``), and return the decoded result."""
        if isinstance(args_text, str):
            args_text = args_text.encode("utf-8")
        self._sock.sendall(b"".join((b'{"action":"call","name":', pyon.encode(name).encode(),
                                     b',"args":{"__jsonclass__":["tuple",[', args_text, b']]},"kwargs":{}}\n')))
        rep = pyon.decode(self._readline())
        if not isinstance(rep, dict):
            raise ConnectionError("pc_rpc: bad reply %r" % (rep,))
        if rep.get("status") == "ok":
            return rep.get("ret")
        exc = rep.get("exception") or {}
        raise RemoteError(exc.get("class", "GenericRemoteException"), exc.get("message", ""), exc.get("traceback"))

    def call(self, name, *args):
        return self.call_raw(name, pyon.encode(list(args)))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.call(name, *args)

    def abort(self):
        """Break the connection at once, also under a call blocked in
        another thread (which then gets a ConnectionError)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def close(self):
        try:
            self._rf.close()
        finally:
            self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
