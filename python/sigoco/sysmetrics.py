"""System metrics of the Python client: while a run is open, a daemon
thread samples the process every ``sys_metrics`` seconds (default 10) and
logs scalar results, step = the sample's number, as the Go client does
(docs/tracking.md "System metrics"), with the standard library only:

    sys.cpu.percent      user + system CPU time over wall time since the last sample (% of one core)
    sys.rss_bytes        resident memory (Linux /proc/self/statm; elsewhere the peak, resource.getrusage)
    sys.py.threads       threads alive
    sys.py.gc_collections  garbage collections so far (all generations)

The first sample comes one interval after the run starts, none at close.
"""

import gc
import os
import sys
import threading
import time

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


class Sampler:
    """Samples for one run until stop(); stop() waits for the thread."""

    def __init__(self, run, interval):
        self._run = run
        self._interval = float(interval)
        self._stopped = threading.Event()
        self._step = 0
        self._wall = time.monotonic()
        self._cpu = _cpu_seconds()
        self._thread = threading.Thread(target=self._loop, name="sigoco-sysmetrics " + run.id, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stopped.wait(self._interval):
            try:
                values = self.sample()
            except Exception:  # never in the way of the simulation
                continue
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
        if self._thread is not threading.current_thread():
            self._thread.join()
