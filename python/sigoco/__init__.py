"""sigoco's Python tracking client: SimplyPy's API, reporting to trackd.

    import sigoco
    sigoco.track(project_name="oscillator")
    sigoco.log_param(omega=2.0, gamma=0.1)
    for step in range(1000):
        sigoco.log_result("x", x(step), step=step)
    sigoco.close()

Standard library only (numpy values are sent when numpy is used); speaks
SiPyCo's pc_rpc with PYON v2 to trackd's rpc target "tracker". Logging
calls enqueue and return; a background thread sends batches; while trackd
is down records are spooled to disk and replayed exactly once. See
docs/python.md.
"""

from .api import (Tracker, track, get_context, set_context, log_param, log_result, log_artifact, add_note, add_tag,
                  remove_tag, add_metadata, set_status, set_progress, set_step, count, close, flush)
from .logs import Handler as LogHandler
from .run import Run, SigocoWarning, STATUSES, replay, new_id
from .rpc import Client, RemoteError, ssl_context
from .admin import shutdown_server

__version__ = "0.1.0"

__all__ = ["Tracker", "track", "get_context", "set_context", "log_param", "log_result", "log_artifact", "add_note",
           "add_tag", "remove_tag", "add_metadata", "set_status", "set_progress", "set_step", "count", "close", "flush",
           "LogHandler", "Run", "SigocoWarning", "STATUSES", "replay", "new_id", "Client", "RemoteError", "ssl_context",
           "shutdown_server"]
