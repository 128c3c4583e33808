"""System metrics of the Python client: while a run is open, a daemon
thread samples the process every ``sys_metrics`` seconds (default 10) and
logs scalar results, step = the sample's number, as the Go client does
(docs/tracking.md "System metrics"), with the standard library only:

    sys.cpu.percent      user + system CPU time over wall time since the last sample (% of one core)
    sys.rss_bytes        resident memory (Linux /proc/self/statm; elsewhere the peak, resource.getrusage)
    sys.py.threads       threads alive
    sys.py.gc_collections  garbage collections so far (all generations)
    sys.gpu<i>.util_percent, .mem_used_bytes, .mem_total_bytes, .temp_celsius, .power_watts
                         each GPU's state, where nvidia-smi is (GPU below)

The first sample comes one interval after the run starts, none at close.

GPU: where ``nvidia-smi`` is on PATH when the run starts (or
``gpu_metrics`` names a command that takes its arguments), each sample asks
it for every GPU's utilization, memory (MiB, logged in bytes), temperature
and power, the query and series names of the Go client. A field the GPU
does not report ("[N/A]", "[Not Supported]") is left out. nvidia-smi hangs
on a wedged driver, so a query is killed with anything it started after
GPU_TIMEOUT seconds or at close, and after three failures in a row the run
stops asking, with one SigocoWarning.
"""

import gc
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from .sender import SigocoWarning

try:
    import resource
except ImportError:  # Windows
    resource = None


def _cpu_seconds():
    if resource is None:
        t = os.times()
        return t.user + t.system
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    if resource is None:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # kilobytes on Linux and the BSDs


GPU_QUERY = ("--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw", "--format=csv,noheader,nounits")
# The series of the query's fields after the index, with the factor to their unit.
_GPU_FIELDS = (("util_percent", 1.0), ("mem_used_bytes", float(1 << 20)), ("mem_total_bytes", float(1 << 20)),
               ("temp_celsius", 1.0), ("power_watts", 1.0))
GPU_TIMEOUT = 5.0        # seconds one query may take
_GPU_MAX = 64            # GPUs read from one query
_GPU_MAX_OUTPUT = 64 << 10  # bytes of its output read (64 GPUs take ~4 KiB)
_GPU_MAX_FAILURES = 3    # failed queries in a row before the run stops asking


def parse_nvidia_smi(out):
    """The values in GPU_QUERY's output (bytes): one line per GPU, "index,
    util, mem used, mem total, temperature, power". A line of another
    shape, an index outside [0, 64) or seen before, is ignored; so is a
    field that is not a finite number. At most 64 GPUs are read."""
    vals, seen = {}, set()
    for line in out.splitlines():
        if len(seen) == _GPU_MAX:
            break
        f = line.split(b",")
        if len(f) != 1 + len(_GPU_FIELDS):
            continue
        try:
            i = int(f[0].strip(), 10)
        except ValueError:
            continue
        if not 0 <= i < _GPU_MAX or i in seen:
            continue
        seen.add(i)
        for (name, scale), field in zip(_GPU_FIELDS, f[1:]):
            try:
                v = float(field.strip())
            except ValueError:  # [N/A], [Not Supported]
                continue
            if math.isfinite(v):
                vals["sys.gpu%d.%s" % (i, name)] = v * scale
    return vals


class _GPU:
    """Queries nvidia-smi for one sampler (from its thread; kill() from any)."""

    def __init__(self, command):
        self.command = command
        self.fails = 0
        self._mu = threading.Lock()
        self._proc = None
        self._killed = False
        self._out = None  # temporary files, reused: a child left behind cannot hold a pipe we wait on
        self._err = None

    def sample(self, into):
        if self.fails >= _GPU_MAX_FAILURES:
            return
        try:
            vals = self._query()
        except Exception as e:
            if self._killed:
                return  # the run is closing: not nvidia-smi's failure
            self.fails += 1
            if self.fails == _GPU_MAX_FAILURES:
                warnings.warn("sigoco: GPU metrics off for this run: %s failed %d times in a row: %s" % (self.command, self.fails, e),
                              SigocoWarning, stacklevel=2)
            return
        self.fails = 0
        into.update(vals)

    def _query(self):
        if self._out is None:
            self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        for f in (self._out, self._err):
            f.seek(0)
            f.truncate()
        posix = os.name == "posix"
        with self._mu:
            if self._killed:
                raise RuntimeError("stopped")
            self._proc = subprocess.Popen((self.command,) + GPU_QUERY, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                          start_new_session=posix)  # its own group: killed with what it starts
        proc = self._proc
        try:
            proc.wait(GPU_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            proc.wait()
            raise RuntimeError("no answer within %g s" % GPU_TIMEOUT)
        finally:
            with self._mu:
                self._proc = None
        if proc.returncode != 0:
            self._err.seek(0)
            msg = self._err.read(512).strip().decode("utf-8", "replace")
            raise RuntimeError("exit status %d%s" % (proc.returncode, ": " + msg if msg else ""))
        self._out.seek(0)
        vals = parse_nvidia_smi(self._out.read(_GPU_MAX_OUTPUT))
        if not vals:
            raise RuntimeError("no GPU values")
        return vals

    @staticmethod
    def _kill(proc):
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:
            pass  # gone already

    def kill(self):
        """Kill a query in flight and refuse new ones (the run is closing)."""
        with self._mu:
            self._killed = True
            if self._proc is not None:
                self._kill(self._proc)

    def close(self):
        for f in (self._out, self._err):
            if f is not None:
                f.close()


def _gpu(gpu_metrics):
    """The _GPU that gpu_metrics asks for, or None: off, or no nvidia-smi on PATH."""
    if not gpu_metrics:
        return None
    command = gpu_metrics if isinstance(gpu_metrics, str) else shutil.which("nvidia-smi")
    return _GPU(command) if command else None


class Sampler:
    """Samples for one run until stop(); stop() waits for the thread."""

    def __init__(self, run, interval, gpu_metrics=True):
        self._run = run
        self._interval = float(interval)
        self._stopped = threading.Event()
        self._step = 0
        self._wall = time.monotonic()
        self._cpu = _cpu_seconds()
        self._gpu = _gpu(gpu_metrics)
        self._thread = threading.Thread(target=self._loop, name="sigoco-sysmetrics " + run.id, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stopped.wait(self._interval):
            try:
                values = self.sample()
                if self._gpu is not None:
                    self._gpu.sample(values)
            except Exception:  # never in the way of the simulation
                continue
            if self._stopped.is_set():
                break  # stopped during the GPU query: no sample at close
            for k in sorted(values):
                self._run.log_point(k, values[k], self._step)
            self._step += 1

    def sample(self):
        now, cpu = time.monotonic(), _cpu_seconds()
        out = {
            "sys.py.threads": float(threading.active_count()),
            "sys.py.gc_collections": float(sum(s.get("collections", 0) for s in gc.get_stats())),
        }
        if now > self._wall:
            out["sys.cpu.percent"] = 100.0 * (cpu - self._cpu) / (now - self._wall)
        rss = _rss_bytes()
        if rss:
            out["sys.rss_bytes"] = float(rss)
        self._wall, self._cpu = now, cpu
        return out

    def stop(self):
        self._stopped.set()
        if self._gpu is not None:
            self._gpu.kill()
        if self._thread is not threading.current_thread():
            self._thread.join()
            if self._gpu is not None:
                self._gpu.close()
