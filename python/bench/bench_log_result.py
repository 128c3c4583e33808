"""Prints the cost of one scalar sigoco.log_result, in µs (target ≤ 5 µs).

    PYTHONPATH=python python3 python/bench/bench_log_result.py [--addr HOST:PORT] [-n N]

The calls only enqueue: the figure does not depend on the server, which
may be down (the records then go to a temporary spool, removed at the
end). With --addr, a running trackd takes them.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sigoco  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", default="127.0.0.1:9", help="trackd (default: a port nothing listens on)")
    p.add_argument("-n", type=int, default=200_000)
    a = p.parse_args()
    spool = tempfile.mkdtemp(prefix="sigoco-bench-")
    try:
        sigoco.track(project_name="bench", addr=a.addr, spool_dir=spool, metadata=False, close_timeout=30)
        log_result = sigoco.log_result
        best = best_cpu = best_ref = None
        ref = []
        for _ in range(5):
            # the floor of any Python logging call, measured beside it
            t0 = time.perf_counter()
            for i in range(a.n):
                ref.append(("x", 0.5, i))
            dr = (time.perf_counter() - t0) / a.n * 1e6
            ref.clear()
            t0, c0 = time.perf_counter(), time.thread_time()
            for i in range(a.n):
                log_result("x", 0.5)
            dt = (time.perf_counter() - t0) / a.n * 1e6
            dc = (time.thread_time() - c0) / a.n * 1e6
            best = dt if best is None else min(best, dt)
            best_cpu = dc if best_cpu is None else min(best_cpu, dc)
            best_ref = dr if best_ref is None else min(best_ref, dr)
        t0 = time.perf_counter()
        for i in range(a.n):
            log_result("y", i * 0.5, step=i)
        with_step = (time.perf_counter() - t0) / a.n * 1e6
        sigoco.close(timeout=30 if a.addr != "127.0.0.1:9" else 0.1)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    # Wall time includes the sender thread holding the GIL (encoding and
    # sending batches) and, on a shared machine, time descheduled; the
    # calling thread's CPU time is what the call itself costs.
    print("python.log_result.us %.2f wall, %.2f CPU of the calling thread (best of 5 x %d; target <= 5)" % (best, best_cpu, a.n))
    print("python.log_result_step.us %.2f wall (explicit step)" % with_step)
    print("python.list_append_ref.us %.2f wall (list.append of a tuple, the floor, same run)" % best_ref)
    try:
        print("load average %.1f %.1f %.1f on %d CPUs" % (os.getloadavg() + (os.cpu_count(),)))
    except OSError:
        pass


if __name__ == "__main__":
    main()
