"""The sender thread of a run (a mixin of Run, apart for reading): takes
the queue, cuts it into batches, sends them with log_batch, spools what the
server does not take and replays the spool in order, stages and uploads
artifacts, forwards log lines and sends heartbeats. See run.py."""

import binascii
import hashlib
import mimetypes
import os
import random
import socket
import sys
import tempfile
import threading
import time
import warnings
from array import array
from bisect import bisect_left, bisect_right

from . import pyon, spool
from .rpc import TOKEN_FEATURE, TOKEN_LINE, AuthError, Client, RemoteError

TRACKER = "tracker"
BLOB_CHUNK = 1 << 20
DEFAULT_ADDR = "127.0.0.1:3250"
ENV_ADDR = "SIGOCO_TRACK_ADDR"
ENV_TOKEN = "SIGOCO_TOKEN"
ENV_RUN_CREDENTIAL = "SIGOCO_RUN_CREDENTIAL"  # a run's write credential (trackd sets it for a job's solver)

# Remote exception classes that mean "try again later", not "refused".
_TRANSIENT = ("TimeoutError", "ConnectionError", "BrokenPipeError", "ConnectionResetError")

# The text of trackd's unavailable errors (Go: store.ErrUnavailable, see
# track/store/unavailable.go; on the wire an OSError whose message contains
# it): the storage was full, failing, busy or below --min-free, the records
# are fine. docs/tracking.md "Failure behaviour".
UNAVAILABLE = "store: unavailable"


def unavailable(e):
    """Whether a RemoteError means "keep the records and send them again
    later" (the server could not store them then) rather than a refusal.
    As the Go client's isTransport: a storage failure, by its text."""
    return e.cls in _TRANSIENT or UNAVAILABLE in (e.message or "")


_LITTLE = sys.byteorder == "little"
_str = pyon.json.encoder.encode_basestring_ascii


def _col(a, dtype):
    """A packed column as a PYON numpy array, as bytes (base64 straight
    from the array's buffer: no copies beyond the one base64 makes)."""
    if not _LITTLE:
        a = array(a.typecode, a)
        a.byteswap()
    return b'{"__jsonclass__":["nparray",[[%d],"%s","' % (len(a), dtype.encode()) + binascii.b2a_base64(memoryview(a), newline=False) + b'"]]}'


def _parse_addr(addr):
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("sigoco: address %r is not HOST:PORT" % (addr,))
    return host.strip("[]"), int(port)


def _parse_addrs(addr):
    """A comma-separated list of HOST:PORT (trackd nodes sharing one
    store, docs/scaling.md) as a list of (host, port)."""
    out = [_parse_addr(a.strip()) for a in addr.split(",") if a.strip()]
    if not out:
        raise ValueError("sigoco: address %r names no HOST:PORT" % (addr,))
    return out


def _dial_first(addrs, start, dial):
    """dial(host, port) on addrs[start], then on the next ones in order,
    wrapping around, until one answers: returns (its index, the result);
    raises the last error when none does."""
    err = None
    for i in range(len(addrs)):
        k = (start + i) % len(addrs)
        try:
            return k, dial(*addrs[k])
        except (OSError, ValueError) as e:
            err = e
    raise err


class _Queue:
    __slots__ = ("recs", "rseq", "keys", "kidx", "k", "s", "st", "t", "v")

    def __init__(self):
        self.recs = []  # record texts, in seq order
        self.rseq = []  # their seqs
        self.keys = []
        self.kidx = {}
        self.k, self.s, self.st, self.t = array("q"), array("q"), array("q"), array("q")
        self.v = array("d")

    def n(self):
        return len(self.recs) + len(self.s)



class SigocoWarning(UserWarning):
    """The server refused records, or records were dropped or spooled."""


class _Batch:
    __slots__ = ("lo", "hi", "text")

    def __init__(self, lo, hi, text):
        self.lo, self.hi, self.text = lo, hi, text


class Sender:
    """The sender thread's half of Run (a mixin: Run holds the state)."""

    # ----- the sender thread -----

    def _wire_token(self):
        """What the run's connections present: its write credential, else
        the token (docs/security.md, "Run credentials")."""
        return self._credential or self.token

    def _set_credential(self, cred):
        """Keep the run's write credential (None: the server refused it)."""
        if cred == self._credential:
            return
        self._credential = cred
        try:
            if cred:
                spool.write_credential(self.dir, cred)
            else:
                os.remove(os.path.join(self.dir, spool.CREDENTIAL_FILE))
        except OSError:
            pass

    # The server in use: self._addrs[self._cur] (the log connection
    # follows it too).
    _host = property(lambda self: self._addrs[self._cur][0])
    _port = property(lambda self: self._addrs[self._cur][1])

    def _dial_one(self, host, port):
        try:
            return Client(host, port, TRACKER, ssl_context=self._ssl, timeout=self.call_timeout, token=self._wire_token())
        except AuthError:
            if not self._credential:
                raise
            self._set_credential(None)  # no longer valid (the run was deleted): the token then
            return Client(host, port, TRACKER, ssl_context=self._ssl, timeout=self.call_timeout, token=self.token)

    def _dial(self):
        """Connect to the server in use or, when it cannot be reached, to
        the next of the address list that can (failover)."""
        self._cur, c = _dial_first(self._addrs, self._cur, self._dial_one)
        return c

    def _connect(self):
        if self._client is not None:
            return self._client
        if time.monotonic() < self._next_try:
            return None
        try:
            self._client = self._dial()
        except (OSError, ValueError) as e:
            self._set_down(e)
            return None
        self._failures = 0
        if self._down_since is not None:
            self._down_since = None
        return self._client

    def _set_down(self, err):
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None
        if self._down_since is None:
            self._down_since = time.monotonic()
        wait = min(0.1 * (2 ** min(self._failures, 6)), 5.0)
        self._next_try = time.monotonic() + wait * (0.5 + random.random() / 2)
        self._failures += 1

    def _loop(self):
        first = True
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            stop = self._stop
            try:
                self._cycle()
                if first and self._replay_orphans and self._client is not None:
                    first = False
                    self._replay_others()
            except Exception as e:  # never let the thread die silently
                self._fail("sigoco: run %s: sender: %r" % (self.id, e))
                time.sleep(0.1)
            if stop or self._abandoned:
                return

    def _take(self):
        with self._mu:
            q = self._q
            if q.n() == 0:
                return []
            self._q = _Queue()
        return self._split(q)

    def _split(self, q):
        n = q.n()
        lo = q.rseq[0] if q.recs else q.s[0]
        if q.s and q.s[0] < lo:
            lo = q.s[0]
        out = []
        size = self.batch_size
        single = n <= size
        b_lo = lo
        while b_lo < lo + n:
            b_hi = min(b_lo + size, lo + n) - 1
            i0, i1 = bisect_left(q.rseq, b_lo), bisect_right(q.rseq, b_hi)
            j0, j1 = bisect_left(q.s, b_lo), bisect_right(q.s, b_hi)
            recs = ",".join(q.recs[i0:i1])
            if j1 > j0:
                kcol = q.k[j0:j1]
                keys = q.keys
                if not single:
                    used = {}
                    keys = []
                    remap = array("q")
                    for k in kcol:
                        m = used.get(k)
                        if m is None:
                            m = used[k] = len(keys)
                            keys.append(q.keys[k])
                        remap.append(m)
                    kcol = remap
                cols = b",".join((pyon.encode(keys).encode(), _col(kcol, "<i8"), _col(q.s[j0:j1], "<i8"), _col(q.st[j0:j1], "<i8"),
                                  _col(q.t[j0:j1], "<i8"), _col(q.v[j0:j1], "<f8")))
            else:
                cols = b"[],[],[],[],[],[]"
            text = b"".join((b'[{"run":', _str(self.id).encode(), b',"records":[', recs.encode("utf-8"), b"]},", cols, b"]"))
            out.append(_Batch(b_lo, b_hi, text))
            b_lo = b_hi + 1
        return out

    def _cycle(self):
        self._stage()
        # Taken batches wait in the outbox until sent or spooled, so that a
        # close() that gives up on a sender stuck in a call can spool them.
        self._outbox.extend(self._take())
        while self._outbox:
            b = self._outbox[0]
            with self._smu:
                if self._abandoned:
                    return
                if self._spool_size > 0 or self._connect() is None:
                    self._to_spool(b)
                else:
                    try:
                        self._send(b)
                    except OSError as e:
                        self._set_down(e)
                        self._to_spool(b)
            if self._abandoned:
                return
            self._outbox.pop(0)
        with self._smu:
            if self._spool_size > 0 and not self._abandoned and self._connect() is not None:
                self._replay()
        self._upload()
        self._send_logs()
        c = self._client
        if c is not None and time.monotonic() - self._last_sent > self._hb:
            with self._smu:
                try:
                    c.call("heartbeat", self.id)
                except OSError as e:
                    self._set_down(e)
                except RemoteError:
                    pass
                self._last_sent = time.monotonic()

    def _send(self, b):
        """Send one batch; OSError if the server could not take it."""
        try:
            ack = self._client.call_raw("log_batch", b.text)
        except pyon.DecodeError as e:
            raise ConnectionError(str(e)) from None
        except RemoteError as e:
            if unavailable(e):
                raise ConnectionError(str(e)) from None  # kept: spooled, sent again with backoff
            self._refused(b.lo, "batch of records %d-%d refused: %s" % (b.lo, b.hi, e))
            ack = {}
        self._last_sent = time.monotonic()
        for rj in (ack or {}).get("rejected") or []:
            self._refused(rj.get("seq"), rj.get("error"))
        cred = (ack or {}).get("credential")
        if cred:
            self._set_credential(cred)  # the batch created the run
        hb = (ack or {}).get("heartbeat_ms")
        if hb:
            self._hb = min(self.heartbeat_interval, hb / 1000.0)
        with self._dmu:
            self._acked = max(self._acked, b.hi)
            self._spooled = max(self._spooled, self._acked)
            self._stats["sent"] += 1
            self._dmu.notify_all()

    def _refused(self, seq, msg):
        m = "sigoco: run %s record %s: %s" % (self.id, seq, msg)
        with self._dmu:
            self._errors.append(m)
            self._stats["rejected"] += 1
        warnings.warn(m, SigocoWarning, stacklevel=2)

    def _fail(self, msg):
        with self._dmu:
            self._errors.append(msg)
        warnings.warn(msg, SigocoWarning, stacklevel=2)

    def _to_spool(self, b):
        if self._abandoned and threading.current_thread() is self._thread:
            return  # close() took over the spool
        data = spool.frame(b.lo, b.hi, b.text)
        try:
            self._spool.seek(0, os.SEEK_END)
            self._spool.write(data)
            self._spool.flush()
            self._spool_size += len(data)
        except OSError as e:
            self._fail("sigoco: run %s: cannot spool records %d-%d (lost): %s" % (self.id, b.lo, b.hi, e))
            with self._dmu:
                self._acked = max(self._acked, b.hi)
                self._dmu.notify_all()
            return
        with self._dmu:
            self._spooled = max(self._spooled, b.hi)
            self._stats["spooled"] += 1
            self._dmu.notify_all()

    def _replay(self):
        """Send the spool in order; newer batches wait behind it."""
        self._spool.flush()
        try:
            with open(self._spool_path, "rb") as f:
                for lo, hi, text, _ in spool.read_frames(f):
                    try:
                        self._send(_Batch(lo, hi, text))
                    except OSError as e:
                        self._set_down(e)
                        return
                    self._stats["replayed"] += 1
        except spool.SpoolCorrupt as e:
            self._fail("sigoco: run %s: spool damaged: %s; the rest of it is lost" % (self.id, e))
        self._spool.truncate(0)
        self._spool.seek(0)
        self._spool_size = 0

    def _stage(self):
        # One stager at a time: close() waits here for the sender thread's
        # staging, so that every artifact record comes before the end.
        with self._stage_mu:
            with self._mu:
                jobs, self._to_stage = self._to_stage, []
            for name, path, result in jobs:
                self._stage_one(name, path, result)

    def _stage_one(self, name, path, result):
        if True:
            try:
                sha, size, staged = _stage(self.dir, path)
            except OSError as e:
                self._fail("sigoco: run %s: artifact %r: %s" % (self.id, name, e))
                return
            ctype = mimetypes.guess_type(name)[0] or ""
            self._record("artifact", name, pyon.encode({"sha256": sha, "size": size, "content_type": ctype, "result": bool(result)}))
            self._uploads.append((staged, sha))

    def _upload(self):
        while self._uploads and not self._abandoned:
            path, sha = self._uploads[0]
            with self._smu:
                c = self._connect()
                if c is None:
                    return
                try:
                    upload_blob(c, path, sha)
                except OSError as e:
                    self._set_down(e)
                    return
                except RemoteError as e:
                    if unavailable(e):
                        self._set_down(e)  # kept: uploaded again with backoff
                        return
                    self._fail("sigoco: run %s: artifact %s refused: %s" % (self.id, sha[:12], e))
            try:
                os.remove(path)
            except OSError:
                pass
            self._uploads.pop(0)
            with self._dmu:
                self._stats["uploaded"] += 1
                self._dmu.notify_all()

    def _send_logs(self):
        with self._mu:
            lines, self._logs = self._logs, []
        if not lines:
            return
        if self._log_sock is None:
            if self._wire_token() and self._client is None:
                # The rpc connection says whether the server takes a
                # token line (TOKEN_FEATURE); wait for it.
                with self._mu:
                    self._logs[:0] = lines[-10000:]
                return
            if time.monotonic() < self._log_next_try:
                with self._mu:
                    self._logs[:0] = lines
                return
            try:
                import socket
                s = socket.create_connection((self._host, self._port), timeout=self.call_timeout)
                if self._ssl is not None:
                    s = self._ssl.wrap_socket(s, server_hostname=self._host)
                s.sendall(b"ARTIQ logging\n")
                c = self._client
                tok = self._wire_token()
                if tok and c is not None and TOKEN_FEATURE in c.features and "\n" not in tok:
                    s.sendall((TOKEN_LINE % tok).encode("utf-8"))  # trackd with an access file
                self._log_sock = s
            except OSError:
                self._log_next_try = time.monotonic() + 1.0
                with self._mu:
                    self._logs[:0] = lines[-10000:]
                return
        try:
            self._log_sock.sendall("".join(lines).encode("utf-8"))
        except OSError:
            self._log_sock.close()
            self._log_sock = None  # these lines are lost (the format has no acknowledgements)

    def _replay_others(self):
        """Replay the spools other runs left in this spool directory, on a
        thread of its own (a large one must not hold up this run's
        batches); runs locked by a live process are skipped."""
        def run():
            try:
                replay(self.spool_dir, addr=self.addr, ssl_context=self._ssl, token=self.token, skip=self.id)
            except Exception:
                pass  # the server went away again: the next run tries again
        threading.Thread(target=run, name="sigoco-replay", daemon=True).start()


def _stage(run_dir, path):
    """Copy path into run_dir/blobs/<sha256>; return (sha, size, staged)."""
    d = os.path.join(run_dir, spool.BLOBS)
    os.makedirs(d, exist_ok=True)
    h = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix="staging-", dir=d)
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as f:
            while True:
                chunk = f.read(BLOB_CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        sha = h.hexdigest()
        final = os.path.join(d, sha)
        os.replace(tmp, final)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return sha, size, final


def upload_blob(c, path, sha):
    """Upload the file at path as blob sha in 1 MiB chunks, resuming at
    what the server holds; nothing is sent if it has the content."""
    st = c.call("blob_state", sha)
    if st.get("present"):
        return
    off = int(st.get("received") or 0)
    with open(path, "rb") as f:
        f.seek(off)
        while True:
            chunk = f.read(BLOB_CHUNK)
            if not chunk:
                break
            off = c.call("write_blob", sha, off, chunk)
    c.call("commit_blob", sha)



def replay(spool_dir, addr=None, ssl_context=None, token=None, skip=None, timeout=30.0):
    """Send the spools left in spool_dir (a spool directory or one run's
    directory in it) to the server, in order, and remove what was sent.
    Runs locked by a live process are skipped. Returns a list of dicts
    {run, batches, applied, skipped, rejected, blobs, error}."""
    addr = addr or os.environ.get(ENV_ADDR) or DEFAULT_ADDR
    addrs = _parse_addrs(addr)
    dirs = [d for d in spool.run_dirs(spool_dir) if os.path.basename(d) != skip]
    if not dirs:
        return []
    k, c = _dial_first(addrs, 0, lambda h, p: Client(h, p, TRACKER, ssl_context=ssl_context, timeout=timeout,
                                                      token=token or os.environ.get(ENV_TOKEN)))
    host, port = addrs[k]
    out = []
    try:
        for d in dirs:
            lk = spool.DirLock(d)
            if not lk.acquire():
                continue
            rc = c
            cred = spool.read_credential(d)
            if cred:
                # The run's write credential, kept by the process that
                # spooled: it writes the run whatever this process's token.
                try:
                    rc = Client(host, port, TRACKER, ssl_context=ssl_context, timeout=timeout, token=cred)
                except (OSError, ValueError):
                    rc = c
            try:
                res = _replay_dir(rc, d)
            finally:
                if rc is not c:
                    rc.close()
                lk.release()
            if res["error"] is None:
                spool.remove_if_empty(d)
            out.append(res)
    finally:
        c.close()
    return out


def _replay_dir(c, d):
    res = {"run": os.path.basename(d), "batches": 0, "applied": 0, "skipped": 0, "rejected": 0, "blobs": 0, "error": None}
    path = os.path.join(d, spool.SPOOL_FILE)
    if os.path.exists(path):
        with open(path, "rb") as f:
            try:
                for lo, hi, text, _ in spool.read_frames(f):
                    try:
                        ack = c.call_raw("log_batch", text) or {}
                    except RemoteError as e:
                        if unavailable(e):  # the spool stays for the next replay
                            res["error"] = str(e)
                            return res
                        res["rejected"] += hi - lo + 1
                        res["error"] = res["error"] or str(e)
                        continue
                    if ack.get("credential"):
                        spool.write_credential(d, ack["credential"])  # the replay created the run
                    res["batches"] += 1
                    res["applied"] += ack.get("applied") or 0
                    res["skipped"] += ack.get("skipped") or 0
                    res["rejected"] += len(ack.get("rejected") or [])
            except spool.SpoolCorrupt as e:
                res["error"] = "spool damaged: %s" % e
        os.remove(path)
    bd = os.path.join(d, spool.BLOBS)
    for n in sorted(os.listdir(bd)) if os.path.isdir(bd) else []:
        p = os.path.join(bd, n)
        if n.startswith("staging-"):
            os.remove(p)
            continue
        try:
            upload_blob(c, p, n)
        except RemoteError as e:
            res["error"] = res["error"] or str(e)
            if unavailable(e):
                return res  # the blob stays for the next replay
        os.remove(p)
        res["blobs"] += 1
    if res["error"] and res["error"].startswith("spool damaged"):
        res["error"] = res["error"]  # reported; the file is gone
    return res

