"""Administration calls on trackd (SimplyPy's ServerCom): shutdown_server."""

import os

from .rpc import Client, ssl_context as _ssl_context
from .sender import DEFAULT_ADDR, ENV_ADDR, ENV_TOKEN, TRACKER, _parse_addr

__all__ = ["shutdown_server"]


def shutdown_server(addr=None, *, token=None, ssl_context=None, tls_cert=None, tls_key=None, tls_peer_cert=None,
                    timeout=10.0):
    """Ask trackd at addr (default $SIGOCO_TRACK_ADDR, else 127.0.0.1:3250)
    to shut down gracefully, as on SIGTERM: calls in flight finish, open runs
    stay open (their clients spool until trackd is back). Needs the admin
    role (token default $SIGOCO_TOKEN): a viewer or runner gets a
    RemoteError of class PermissionError and trackd serves on. Returns once
    trackd has accepted the request, before it has stopped."""
    host, port = _parse_addr(addr or os.environ.get(ENV_ADDR) or DEFAULT_ADDR)
    if ssl_context is None and (tls_cert or tls_peer_cert):
        ssl_context = _ssl_context(tls_cert, tls_key, tls_peer_cert)
    with Client(host, port, TRACKER, ssl_context=ssl_context, timeout=timeout,
                token=token or os.environ.get(ENV_TOKEN) or None) as c:
        c.call("shutdown_server")
