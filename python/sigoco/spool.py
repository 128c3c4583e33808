"""The spool: batches the server has not taken, on local disk, in order.

A run's spool directory is ``SPOOL_DIR/<run id>/`` (the same layout as the
Go client's, which it shares a directory with safely): ``lock`` (flock, held
while a process owns the run), ``spool.pyon`` (this client's batches),
``blobs/<sha256>`` (artifact contents not yet uploaded). The Go client's
``spool`` file (msgpack) is not read here, nor ``spool.pyon`` by Go.

``spool.pyon`` is a sequence of frames::

    uint32 big-endian  payload length
    uint32 big-endian  CRC-32 (zlib.crc32) of the payload
    payload:           int64 BE first seq, int64 BE last seq, then the
                       PYON text of log_batch's argument list

A frame cut short (the process killed while writing) or with a bad CRC
ends that file's replay: the frames before it are sent, the rest is lost
and reported. Records carry (run, seq), so a frame sent twice is stored once.
"""

import os
import struct
import zlib

try:
    import fcntl
except ImportError:  # Windows: no locking (one process per spool directory)
    fcntl = None

SPOOL_FILE = "spool.pyon"
LOCK_FILE = "lock"
CREDENTIAL_FILE = "credential"  # the run's write credential (mode 0600), as the Go client keeps it
BLOBS = "blobs"
MAX_FRAME = 256 << 20

_hdr = struct.Struct(">II")
_seqs = struct.Struct(">qq")


class SpoolCorrupt(Exception):
    """A spool file is cut short or damaged."""


def default_dir():
    """The Go client's default spool directory: the user cache directory
    (XDG_CACHE_HOME, ~/.cache, ~/Library/Caches, %LOCALAPPDATA%) +
    sigoco/track-spool."""
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    elif os.uname().sysname == "Darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "sigoco", "track-spool")


def frame(lo, hi, args_text):
    """A frame of the batch args_text (UTF-8 bytes)."""
    payload = _seqs.pack(lo, hi) + args_text
    return _hdr.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(f):
    """Yield (lo, hi, args_text as bytes, end_offset) from an open binary file;
    raises SpoolCorrupt at a damaged or cut frame."""
    off = 0
    while True:
        h = f.read(8)
        if not h:
            return
        if len(h) < 8:
            raise SpoolCorrupt("%d bytes of a frame header at byte %d (the file was cut short)" % (len(h), off))
        n, crc = _hdr.unpack(h)
        if n < 16 or n > MAX_FRAME:
            raise SpoolCorrupt("a frame of %d bytes at byte %d" % (n, off))
        p = f.read(n)
        if len(p) < n or zlib.crc32(p) != crc:
            raise SpoolCorrupt("frame at byte %d cut short or damaged" % off)
        off += 8 + n
        lo, hi = _seqs.unpack_from(p)
        yield lo, hi, p[16:], off


def last_seq(path):
    """The highest seq in a spool file (0 if none), reading what is sound."""
    hi = 0
    try:
        with open(path, "rb") as f:
            for _, h, _, _ in read_frames(f):
                hi = max(hi, h)
    except (OSError, SpoolCorrupt):
        pass
    return hi


class DirLock:
    """An exclusive, non-blocking flock on DIR/lock."""

    def __init__(self, d):
        self.f = None
        self.path = os.path.join(d, LOCK_FILE)

    def acquire(self):
        try:
            self.f = open(self.path, "a+")
        except OSError:
            return False
        if fcntl is None:
            return True
        try:
            fcntl.flock(self.f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            self.f.close()
            self.f = None
            return False

    def release(self):
        if self.f is not None:
            self.f.close()
            self.f = None


def is_run_dir(d):
    return os.path.isfile(os.path.join(d, SPOOL_FILE)) or os.path.isdir(os.path.join(d, BLOBS))


def run_dirs(d):
    """The run directories under d (d itself if it is one)."""
    if is_run_dir(d):
        return [d]
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return []
    return [os.path.join(d, n) for n in names if is_run_dir(os.path.join(d, n))]


def read_credential(d):
    """The run's write credential kept in its spool directory d, or None."""
    try:
        with open(os.path.join(d, CREDENTIAL_FILE)) as f:
            c = f.read(513).strip()
    except OSError:
        return None
    return c if c and len(c) <= 512 else None


def write_credential(d, cred):
    """Keep cred in spool directory d, readable by its owner only."""
    tmp = os.path.join(d, CREDENTIAL_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cred + "\n")
    os.replace(tmp, os.path.join(d, CREDENTIAL_FILE))


def remove_if_empty(d):
    """Remove d when nothing is left to replay (its lock and credential
    go with it)."""
    blobs = os.path.join(d, BLOBS)
    left = any(os.path.isfile(os.path.join(d, n)) for n in (SPOOL_FILE, "spool")) or (os.path.isdir(blobs) and os.listdir(blobs))
    if not left:
        try:
            os.remove(os.path.join(d, CREDENTIAL_FILE))
        except OSError:
            pass
    for name in (LOCK_FILE,):
        try:
            os.remove(os.path.join(d, name))
        except OSError:
            pass
    for sub in (BLOBS, d):
        try:
            os.rmdir(os.path.join(d, sub) if sub != d else d)
        except OSError:
            pass
