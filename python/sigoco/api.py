"""SimplyPy's API (docs/python.md maps it name by name)."""

import contextvars
import functools
import os
import sys
import time
import warnings
from pathlib import Path

from .run import Run, SigocoWarning

__all__ = ["Tracker", "track", "get_context", "set_context", "log_param", "log_result", "log_artifact", "add_note",
           "add_tag", "remove_tag", "add_metadata", "set_status", "set_progress", "set_step", "count", "close", "flush"]

_context = contextvars.ContextVar("sigoco_tracker")
_last = None  # the run track() started last: seen from every thread


class Tracker(Run):
    """A tracked run with SimplyPy's constructor and method names; also a
    context manager that ends the run (finished, or failed on an
    exception) when the block ends.

    Tracker(project_name, project_path=None, **options); options are those
    of track() (docs/python.md).
    """

    def __init__(self, project_name=None, project_path=None, **options):
        if project_path is None:
            project_path = os.getcwd()
        self.project_path = Path(project_path).resolve()
        self.project_name = project_name if project_name is not None else "Untitled project"
        super().__init__(self.project_name, options.pop("name", ""), **options)
        self.add_metadata("simply.project_path", str(self.project_path))

    @property
    def uuid(self):
        return self.id

    def add_callstack(self, func_id, seconds=0.0):
        self.count(func_id, seconds)

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        global _last
        if exc is None:
            self.close("finished")
        else:
            self.close("failed", "%s: %s" % (typ.__name__, exc))
        _forget(self)
        return False


def _forget(run):
    global _last
    if _last is run:
        _last = None
    if _context.get(None) is run:
        _context.set(None)


def _current():
    r = _context.get(None)
    if r is None:
        r = _last
    if r is not None and r._closed:
        return None
    return r


def get_context():
    """The run being tracked (this context's, else the one track() started
    last). RuntimeError if there is none."""
    r = _current()
    if r is None:
        raise RuntimeError("Tracker has not been initialized !")
    return r


def set_context(ctx):
    """Make ctx (a Tracker) the run of this context and the default of
    every thread."""
    global _last
    _context.set(ctx)
    _last = ctx


def track(func=None, *, save_result=False, project_name=None, project_path=None, **options):
    """Start tracking a run, or (as a decorator) count and time a function.

    ``track(project_name=..., project_path=...)`` starts a run, makes it the
    current one and returns it; it ends at close(), at the end of a
    ``with track(...) as run:`` block, or when the program exits (atexit,
    status finished; failed after an uncaught exception). ``@track`` counts
    each call of the function and its time (starting a run if none is
    tracked); with ``track(f, save_result=True)`` its return value is logged
    as a result named after the function.

    Options (keywords): name, run_id, parent, addr, spool_dir, token, tls_cert,
    tls_key, tls_peer_cert, ssl_context, metadata, flush_interval,
    batch_size, max_queued, close_timeout, call_timeout, profile.
    """
    if project_path is None:
        f = sys._getframe(1)
        project_path = Path(f.f_code.co_filename).parent.resolve()
    else:
        project_path = Path(project_path).resolve()
    if func is None:
        t = Tracker(project_name, project_path, **options)
        set_context(t)
        return t
    if not callable(func):
        raise ValueError("track: func must be callable (use track(project_name=...) to start a run)")
    return _decorate(func, project_name, project_path, save_result, options)


def _decorate(func, project_name, project_path, save_result, options):
    name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        r = _current()
        if r is None:
            r = Tracker(project_name, project_path, **options)
            set_context(r)
        t0 = time.perf_counter()
        try:
            out = func(*args, **kwargs)
        finally:
            r.count(name, time.perf_counter() - t0)
        if save_result and out is not None:
            try:
                r.log_result(name, out)
            except TypeError as e:
                warnings.warn("sigoco: result of %s not logged: %s" % (name, e), SigocoWarning, stacklevel=2)
        return out

    return wrapper


def count(func=None, *, name=None):
    """Decorator: count each call of the function and its time in the
    current run (stored as the run's counts when it ends). Nothing is
    counted while no run is tracked. ``@count`` or ``@count(name="solve")``."""
    def deco(f):
        n = name or getattr(f, "__qualname__", getattr(f, "__name__", repr(f)))

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            r = _current()
            if r is None:
                return f(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                r.count(n, time.perf_counter() - t0)
        return wrapper

    if func is None:
        return deco
    if isinstance(func, str):
        name = func
        return deco
    return deco(func)


def log_param(key_or_dict=None, value=None, **kwargs):
    """Log params (write-once): a key and a value, a dict, or keywords."""
    ctx = get_context()
    if isinstance(key_or_dict, str):
        if value is None:
            raise ValueError(f"You provided a parameter name '{key_or_dict}' but no value.")
        ctx.log_param(key_or_dict, value)
    elif isinstance(key_or_dict, dict):
        for k, v in key_or_dict.items():
            ctx.log_param(str(k), v)
    elif key_or_dict is not None:
        raise ValueError("Invalid Entry: the parameter name must be a string or a dictionary, not %s." % type(key_or_dict).__name__)
    if kwargs:
        for k, v in kwargs.items():
            ctx.log_param(k, v)
    if key_or_dict is None and not kwargs:
        raise ValueError("Invalid Entry: You must provide a key/value pair, a dictionary, or keyword arguments.")


def log_result(id=None, value=None, path=None, save_result=True, step=None, **kwargs):
    """Log a result value (appended to the series id at step; step
    defaults to the series' last step + 1), a dict of results, keyword
    results, or a file (path: uploaded as an artifact of the run when
    save_result, else only its path is logged)."""
    r = _context.get(None) or _last
    if r is None or r._closed:
        r = get_context()
    if path is None and not kwargs and type(id) is str:
        t = type(value)
        if t is float or t is int:  # the hot path
            r.log_point(id, value, step)
            return
    if value is not None and path is not None:
        raise ValueError("Ambiguous input: You cannot provide both a 'value' and a 'path' at the same time.")
    if value is None and path is None and not isinstance(id, dict) and not kwargs:
        raise ValueError("Missing data: You must provide a 'value', a 'path', or a dictionary of results.")
    if isinstance(id, dict):
        for k, v in id.items():
            r.log_result(str(k), v, step)
        return
    if path is not None:
        p = Path(path)
        rid = id if isinstance(id, str) else p.name
        if save_result:
            if not p.is_file():
                raise ValueError("log_result: %s is not a file" % p)
            r.log_artifact(str(p), rid, result=True)
        else:
            r.log_value(rid, {"path": str(p.resolve())}, step)
        return
    if isinstance(id, str) and value is not None:
        r.log_result(id, value, step)
        return
    if kwargs:
        for k, v in kwargs.items():
            r.log_result(k, v, step)
    else:
        raise ValueError("Invalid input format. The 'id' must be a string or a dictionary.")


def log_artifact(path, name=None):
    """Attach a file to the run (not as a result)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError("log_artifact: %s is not a file" % p)
    get_context().log_artifact(str(p), name)


def add_note(note):
    get_context().add_note(note)


def add_tag(tag):
    if not isinstance(tag, str) or not tag:
        raise ValueError("add_tag: a tag is a non-empty string")
    get_context().add_tag(tag)


def remove_tag(tag):
    get_context().remove_tag(tag)


def add_metadata(key_or_dict=None, value=None, **kwargs):
    """Set metadata (the last value wins): a key and value, a dict, or
    keywords."""
    ctx = get_context()
    if isinstance(key_or_dict, str):
        ctx.add_metadata(key_or_dict, value)
    elif isinstance(key_or_dict, dict):
        for k, v in key_or_dict.items():
            ctx.add_metadata(str(k), v)
    elif key_or_dict is not None:
        raise ValueError("add_metadata: the key must be a string or a dictionary")
    for k, v in kwargs.items():
        ctx.add_metadata(k, v)
    if key_or_dict is None and not kwargs:
        raise ValueError("add_metadata: give a key and a value, a dictionary, or keyword arguments")


def set_status(status, message=None):
    """Set the run's status: registered, loaded, initialized, started,
    running (finished, stopped, failed end it: use close(status))."""
    get_context().set_status(status, message)


def set_progress(percent):
    p = float(percent)
    if not 0 <= p <= 100:
        raise ValueError("set_progress: %r is not between 0 and 100" % (percent,))
    get_context().set_progress(p)


def set_step(step):
    get_context().set_step(int(step))


def flush(timeout=None):
    """Wait until the server has everything logged so far (at most timeout
    seconds); True if it has."""
    return get_context().flush(timeout)


def close(status="finished", message=None, timeout=None):
    """End the current run (see Run.close) and return its stats."""
    r = get_context()
    st = r.close(status, message, timeout)
    _forget(r)
    return st


_prev_hook = sys.excepthook


def _excepthook(typ, exc, tb):
    for r in (_context.get(None), _last):
        if r is not None:
            r._crashed = True
            r._crash_message = "%s: %s" % (typ.__name__, exc)
    _prev_hook(typ, exc, tb)


sys.excepthook = _excepthook
