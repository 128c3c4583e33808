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
        best = None
        for _ in range(5):
            t0 = time.perf_counter()
            for i in range(a.n):
                log_result("x", 0.5)
            dt = (time.perf_counter() - t0) / a.n * 1e6
            best = dt if best is None else min(best, dt)
        t0 = time.perf_counter()
        for i in range(a.n):
            log_result("y", i * 0.5, step=i)
        with_step = (time.perf_counter() - t0) / a.n * 1e6
        sigoco.close(timeout=30 if a.addr != "127.0.0.1:9" else 0.1)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    print("python.log_result.us %.2f (best of 5 x %d, target <= 5)" % (best, a.n))
    print("python.log_result_step.us %.2f" % with_step)


if __name__ == "__main__":
    main()
