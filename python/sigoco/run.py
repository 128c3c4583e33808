"""The run: records enqueued by the simulation's thread, sent in batches by
one background thread to trackd's rpc target ``tracker`` over pc_rpc.

Never in the way: every logging call takes a lock, appends and returns. The
sender thread wakes every ``flush_interval`` (or when a batch is full),
takes the whole queue, cuts it into batches of at most ``batch_size``
records and points (each a contiguous range of sequence numbers), and sends
them one at a time with ``log_batch``. Scalar results travel as packed
columns (numpy ``<i8``/``<f8`` arrays in PYON, built with the ``array``
module: no numpy needed). A batch the server does not take (unreachable,
restarted) goes to the end of the spool file; while the spool is not empty
newer batches go behind it, and once the server answers it is replayed in
order. Every record carries (run id, seq) and the server stores each once,
so a batch sent twice (a lost acknowledgement, a replay) is stored once.
"""

import atexit
import os
import sys
import threading
import time
import warnings
import weakref

from . import pyon, spool
from .rpc import RemoteError, ssl_context as _ssl_context
from .sender import (DEFAULT_ADDR, ENV_ADDR, ENV_RUN_CREDENTIAL, ENV_TOKEN, Sender, SigocoWarning, _Queue, _parse_addr, _parse_addrs, _str,  # noqa: F401
                     replay)  # replay, DEFAULT_ADDR: re-exported

__all__ = ["Run", "SigocoWarning", "STATUSES", "DEFAULT_ADDR"]

ENV_RUN = "SIGOCO_TRACK_RUN"
ENV_PARENT = "SIGOCO_TRACK_PARENT"
STATUSES = ("registered", "loaded", "initialized", "started", "running", "finished", "stopped", "failed")
FINAL = ("finished", "stopped", "failed")

_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def check_run_id(rid):
    """trackd's rule for a run id (it also names the run's spool
    directory): 1 to 64 ASCII letters, digits, '.', '_' or '-', the first
    a letter or a digit. ValueError otherwise."""
    if not isinstance(rid, str) or not 1 <= len(rid) <= 64 or not set(rid) <= _ID_CHARS or rid[0] in "._-":
        raise ValueError("sigoco: bad run id %r (a run id is 1 to 64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit)" % (rid,))


def new_id():
    """A UUIDv7 (time-ordered), as the Go client makes."""
    ms = time.time_ns() // 1_000_000
    b = bytearray(os.urandom(16))
    b[0:6] = ms.to_bytes(6, "big")
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:])


_I64 = 1 << 63


def _step(step):
    """A step as an int64, or ValueError."""
    try:
        s = int(step)
    except (TypeError, ValueError):
        raise ValueError("sigoco: a step is an integer, not %r" % (step,)) from None
    if not -_I64 <= s < _I64:
        raise ValueError("sigoco: step %d is out of the int64 range" % s)
    return s


_runs = weakref.WeakSet()


@atexit.register
def _close_all():
    for r in list(_runs):
        if r._crashed:
            r.close("failed", getattr(r, "_crash_message", None))
        else:
            r.close("finished")


class Run(Sender):
    """One tracked run (see the package documentation for the options).

    Safe for use by many threads. Logging methods never block on the
    network; close() waits for the server at most ``close_timeout``.
    """

    def __init__(self, project="default", name="", *, run_id=None, parent=None, addr=None, spool_dir=None, token=None, credential=None,
                 tls_cert=None, tls_key=None, tls_peer_cert=None, ssl_context=None, metadata=True,
                 flush_interval=0.1, batch_size=50_000, max_queued=1_000_000, close_timeout=10.0,
                 call_timeout=10.0, heartbeat_interval=2.0, replay_orphans=True, profile=False, sys_metrics=10.0, gpu_metrics=True):
        self.project = project or "default"
        self.name = name or ""
        explicit = run_id or os.environ.get(ENV_RUN)
        if explicit:
            check_run_id(explicit)
        self.id = explicit or new_id()
        # The run this one belongs to, sent with the start record of a new
        # run (docs/tracking.md, Parent runs); the server refuses one that
        # does not exist (a SigocoWarning, an error in close()'s stats).
        self.parent = parent or os.environ.get(ENV_PARENT) or None
        if self.parent:
            check_run_id(self.parent)
            if self.parent == self.id:
                raise ValueError("sigoco: run %s cannot be its own parent" % self.id)
        self.addr = addr or os.environ.get(ENV_ADDR) or DEFAULT_ADDR
        self._addrs, self._cur = _parse_addrs(self.addr), 0  # several: failover (sender.py)
        # The token is sent only to a server that announces
        # rpc.TOKEN_FEATURE (trackd with an access file).
        self.token = token or os.environ.get(ENV_TOKEN) or None
        # The run's write credential: given, or $SIGOCO_RUN_CREDENTIAL, or
        # kept in its spool directory; else the server hands it out.
        self._credential = None
        credential = credential or os.environ.get(ENV_RUN_CREDENTIAL) or None
        if ssl_context is None and (tls_cert or tls_peer_cert):
            ssl_context = _ssl_context(tls_cert, tls_key, tls_peer_cert)
        self._ssl = ssl_context
        self.spool_dir = os.path.abspath(spool_dir or spool.default_dir())
        self.dir = os.path.join(self.spool_dir, self.id)
        self.flush_interval, self.batch_size, self.max_queued = flush_interval, batch_size, max_queued
        self.close_timeout, self.call_timeout, self.heartbeat_interval = close_timeout, call_timeout, heartbeat_interval
        self._replay_orphans = replay_orphans

        self._mu = threading.Lock()  # guards _q, _seq, _ended, _dropped, _steps
        self._q = _Queue()
        self._seq = 0
        self._ended = False
        self._dropped = 0
        self._steps = {}
        self._counts = {}  # name -> [calls, seconds]
        self._crashed = False

        self._dmu = threading.Condition()  # guards delivery state below
        self._acked = 0      # every record up to here is stored or refused
        self._spooled = 0    # every record up to here is at least in the spool
        self._errors = []    # the server's refusals and client-side failures
        self._stats = {"sent": 0, "spooled": 0, "replayed": 0, "rejected": 0, "uploaded": 0}

        self._wake = threading.Event()
        self._stop = False
        self._abandoned = False
        self._smu = threading.Lock()  # guards the spool file and the connection
        self._client = None
        self._down_since = None
        self._failures = 0
        self._next_try = 0.0
        self._last_sent = 0.0
        self._hb = heartbeat_interval
        self._outbox = []        # batches taken from the queue, not yet sent or spooled
        self._uploads = []       # (path, sha) staged, to upload
        self._to_stage = []      # (name, path, result) to copy into blobs/
        self._logs = []          # ARTIQ logging lines
        self._log_sock = None
        self._log_next_try = 0.0
        self._closed = False
        self._stage_mu = threading.Lock()
        self._t0 = time.time()
        self._pid = os.getpid()
        self._profiler = None

        os.makedirs(self.dir, exist_ok=True)
        self._lock = spool.DirLock(self.dir)
        if not self._lock.acquire():
            raise RuntimeError("sigoco: run %s is already in use by another process (lock in %s)" % (self.id, self.dir))
        self._credential = spool.read_credential(self.dir)
        if credential:
            self._set_credential(credential)
        self._spool_path = os.path.join(self.dir, spool.SPOOL_FILE)
        self._spool = open(self._spool_path, "ab")
        self._spool_size = self._spool.tell()
        for n in sorted(os.listdir(os.path.join(self.dir, spool.BLOBS)) if os.path.isdir(os.path.join(self.dir, spool.BLOBS)) else []):
            if n.startswith("staging-"):
                os.remove(os.path.join(self.dir, spool.BLOBS, n))
            else:
                self._uploads.append((os.path.join(self.dir, spool.BLOBS, n), n))

        new = True
        if explicit:
            new = self._resume()
        if new:
            self._record("start", self.project, pyon.encode(self.name))
            if self.parent:
                self._record("parent", self.parent, "null")
            self._record("status", "registered", "null")
        else:
            self._record("status", "running", "null")
        if metadata:
            from . import meta
            self.add_metadata_dict(meta.start_metadata())
        if profile:
            import cProfile
            self._profiler = cProfile.Profile()
            self._profiler.enable()
        self._thread = threading.Thread(target=self._loop, name="sigoco-sender " + self.id, daemon=True)
        self._thread.start()
        _runs.add(self)
        self._sys = None
        if metadata and sys_metrics:
            from . import sysmetrics
            self._sys = sysmetrics.Sampler(self, sys_metrics, gpu_metrics)

    # ----- resume -----

    def _resume(self):
        """Continue the sequence numbers of an existing run (its id given).
        Returns True if the run is new. PENDING (issue 23): the core's own
        resume; until then the run's high_seq from get_run is used."""
        local = spool.last_seq(self._spool_path)
        remote = None
        try:
            c = self._dial()
            try:
                remote = int(c.call("get_run", self.id).get("high_seq") or 0)
                if remote and not self._credential:
                    # a credential of its own, for replays after a restart
                    self._set_credential(c.call("run_credential", self.id) or None)
            except RemoteError:
                remote = remote or 0  # no such run on the server (or no run_credential)
            finally:
                c.close()
        except OSError:
            pass
        last = max(local, remote or 0)
        if remote is None and local == 0:
            warnings.warn("sigoco: run %s: the server is unreachable and this spool directory does not know the run; "
                          "starting it as a new run (if the server already has it, records up to its last one are skipped)" % self.id,
                          SigocoWarning, stacklevel=3)
            return True
        if last == 0:
            return True
        self._seq = last
        self._acked = self._spooled = max(remote or 0, 0)
        return False

    # ----- enqueueing (the simulation's thread) -----

    def _record(self, kind, key, value_text, step=0):
        """Enqueue one record whose value is already PYON text."""
        t = time.time_ns()
        with self._mu:
            if self._ended:
                self._dropped += 1
                return 0
            self._seq += 1
            s = self._seq
            q = self._q
            q.rseq.append(s)
            q.recs.append('{"seq":%d,"kind":"%s","key":%s,"value":%s,"step":%d,"time":%d}' % (s, kind, _str(key), value_text, step, t))
            full = q.n() >= self.batch_size
        if full:
            self._wake.set()
        return s

    def log_point(self, key, value, step=None, _now=time.time_ns):
        """Append a scalar (float) result: the hot path (no allocation but
        the array slots; acquire/release spelled out: cheaper than with)."""
        t = _now()
        # Everything that can fail happens before the lock: inside it only
        # appends that cannot (the five columns stay of one length).
        if type(value) is not float:
            try:
                value = float(value)
            except OverflowError:
                raise ValueError("sigoco: result %r: %r is past float64's range" % (key, value)) from None
        if step is not None and (type(step) is not int or not -_I64 <= step < _I64):
            step = _step(step)
        mu = self._mu
        mu.acquire()
        q = self._q
        n = len(q.s) + len(q.recs)
        if self._ended or n >= self.max_queued:
            self._dropped += 1
            mu.release()
            return
        k = q.kidx.get(key)
        if k is None:
            k = q.kidx[key] = len(q.keys)
            q.keys.append(key)
        steps = self._steps
        if step is None:
            step = steps.get(key, -1) + 1
        steps[key] = step
        s = self._seq = self._seq + 1
        q.k.append(k)
        q.s.append(s)
        q.st.append(step)
        q.t.append(t)
        q.v.append(value)
        mu.release()
        if n + 1 >= self.batch_size:
            self._wake.set()

    def log_value(self, key, value, step=None):
        """Append a non-scalar result (encoded now: later changes to value
        do not matter)."""
        text = pyon.encode(value)
        if step is not None:
            step = _step(step)
        with self._mu:
            if step is None:
                step = self._steps.get(key, -1) + 1
            self._steps[key] = step
        self._record("result", key, text, step)

    def log_result(self, key, value, step=None):
        t = type(value)
        if t is float or t is int:
            self.log_point(key, value, step)
        elif t is not bool and hasattr(value, "dtype") and getattr(value, "shape", None) == () and value.dtype.kind in "iuf":
            self.log_point(key, float(value), step)
        else:
            self.log_value(key, value, step)

    def log_param(self, key, value):
        self._record("param", key, pyon.encode(value))

    def add_metadata(self, key, value):
        self._record("meta", key, pyon.encode(value))

    def add_metadata_dict(self, d):
        for k in sorted(d):
            try:
                self.add_metadata(k, d[k])
            except pyon.EncodeError:
                self.add_metadata(k, repr(d[k]))

    def add_note(self, text):
        self._record("note", "", pyon.encode(str(text)))

    def add_tag(self, tag):
        self._record("tag", str(tag), "null")

    def remove_tag(self, tag):
        self._record("untag", str(tag), "null")

    def set_status(self, status, message=None):
        if status not in STATUSES:
            raise ValueError("sigoco: unknown status %r (one of %s)" % (status, ", ".join(STATUSES)))
        self._record("status", status, pyon.encode(message))

    def set_progress(self, percent):
        self._record("progress", "", pyon.encode(float(percent)))

    def set_step(self, step):
        self._record("step", "", "null", _step(step))

    def count(self, name, seconds=0.0):
        with self._mu:
            c = self._counts.get(name)
            if c is None:
                self._counts[name] = [1, seconds]
            else:
                c[0] += 1
                c[1] += seconds

    def log_artifact(self, path, name=None, result=False):
        """Attach the file at path (copied into the spool directory by the
        sender thread, then uploaded in chunks by sha256)."""
        path = os.fspath(path)
        with self._mu:
            if self._ended:
                self._dropped += 1
                return
            self._to_stage.append((name or os.path.basename(path), path, result))
        self._wake.set()

    def log_line(self, line):
        """Queue one ARTIQ logging record line (see logs.py)."""
        with self._mu:
            if len(self._logs) < 10000:
                self._logs.append(line)
            else:
                self._dropped += 1

    # ----- waiting and closing -----

    def _pending_uploads(self):
        with self._mu:
            return len(self._uploads) + len(self._to_stage)

    def flush(self, timeout=None):
        """Wait until the server has every record logged so far (and every
        artifact), at most timeout seconds (default close_timeout). Returns
        True if it has; False if some are still queued or spooled."""
        deadline = time.monotonic() + (self.close_timeout if timeout is None else timeout)
        with self._mu:
            target = self._seq
        self._wake.set()
        with self._dmu:
            while self._acked < target or self._pending_uploads():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._dmu.wait(min(left, 0.05))
                if self._pending_uploads():
                    self._wake.set()
        return True

    def close(self, status="finished", message=None, timeout=None):
        """End the run: record the call counts, the end metadata and the
        final status, wait for the server at most timeout seconds (default
        close_timeout), then leave what it has not taken in the spool and
        say so on stderr. Returns the run's stats (a dict). Idempotent."""
        if status not in FINAL:
            raise ValueError("sigoco: a run ends finished, stopped or failed, not %r" % (status,))
        if os.getpid() != self._pid:
            # A forked child (multiprocessing with fork): the run, its
            # sender thread and its spool belong to the parent; what the
            # child logged stays in its memory.
            return self.stats()
        with self._mu:
            if self._closed:
                return self.stats()
            self._closed = True
        _runs.discard(self)
        timeout = self.close_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self._sys is not None:
            self._sys.stop()
        if self._profiler is not None:
            self._profiler.disable()
            p = os.path.join(self.dir, "profile.pstats")
            try:
                self._profiler.dump_stats(p)
                self.log_artifact(p, "profile.pstats")
            except OSError:
                pass
        self._stage()  # artifact records before the final status
        with self._mu:
            counts = dict(self._counts)
        for name in sorted(counts):
            c = counts[name]
            self._record("count", name, '{"calls":%d,"seconds":%s}' % (c[0], pyon._float(float(c[1]))))
        self._record("meta", "simply.runtime", pyon._float(time.time() - self._t0))
        self.set_status(status, message)
        with self._mu:
            self._ended = True
        ok = self.flush(max(0.0, deadline - time.monotonic()))
        self._stop = True
        self._wake.set()
        self._thread.join(max(0.5, min(2.0, deadline - time.monotonic())))
        if self._thread.is_alive():
            # Stuck in a call: take over. The batch in flight is spooled too
            # (if the server did store it, the replay is skipped by seq).
            self._abandoned = True
            c = self._client
            if c is not None:
                c.abort()  # unblocks the call; the thread then only leaves
            for b in list(self._outbox) + self._take():
                self._to_spool(b)
        try:
            self._spool.close()
        except OSError:
            pass
        c, self._client = self._client, None
        if c is not None:
            if self._abandoned:
                c.abort()
            else:
                c.close()
        if self._log_sock is not None:
            self._log_sock.close()
        st = self.stats()
        left = self._spool_size > 0 or bool(self._uploads)
        if not left:
            try:
                os.remove(self._spool_path)
            except OSError:
                pass
        self._lock.release()
        if not left:
            spool.remove_if_empty(self.dir)
        if not ok or left:
            sys.stderr.write("sigoco: run %s: the server (%s) has not taken %d records%s; they are spooled in %s and are sent by "
                             "the next run using that spool directory, or by `python -m sigoco replay %s`\n"
                             % (self.id, self.addr, max(0, st["logged"] - st["acked"]),
                                (" and %d artifacts" % len(self._uploads)) if self._uploads else "", self.dir, self.spool_dir))
        with self._mu:
            dropped = self._dropped
        if dropped:
            warnings.warn("sigoco: run %s: %d records dropped (queue full, or logged after close)" % (self.id, dropped), SigocoWarning, stacklevel=2)
        return st

    def stats(self):
        with self._mu:
            logged, dropped = self._seq, self._dropped
        with self._dmu:
            st = dict(self._stats)
            st.update(logged=logged, acked=self._acked, errors=list(self._errors), dropped=dropped)
        return st
