"""What a run records about the program by itself, under SimplyPy's keys
(simply.*) and, for what SimplyPy does not record, the Go client's keys."""

import getpass
import os
import platform
import socket
import sys

MAX_SOURCE = 256 << 10  # bytes of one source file kept, at most
MAX_SOURCES = 1 << 20   # bytes of user modules' sources kept, in all


def _stdlib():
    names = getattr(sys, "stdlib_module_names", None)  # 3.10+
    if names is not None:
        return names
    return set(sys.builtin_module_names)


def _is_stdlib_path(path):
    base = os.path.dirname(os.__file__)
    return path.startswith(base + os.sep) and "site-packages" not in path and "dist-packages" not in path


def get_imports():
    """SimplyPy's get_imports: the user's own modules (files outside the
    standard library and site/dist-packages) and every imported name."""
    stdlib = _stdlib()
    custom = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if not path:
            continue
        path = os.path.abspath(path)
        top = name.split(".")[0]
        if top in stdlib or top == "sigoco" or "site-packages" in path or "dist-packages" in path or _is_stdlib_path(path):
            continue
        if not os.path.isfile(path):
            continue
        custom.append(path)
    return sorted(set(custom)), sorted(sys.modules)


def get_main_script():
    m = sys.modules.get("__main__")
    f = getattr(m, "__file__", None)
    return os.path.abspath(f) if f else None


def load_main_script_source():
    """SimplyPy's: the main script's source (None if there is none)."""
    p = get_main_script()
    return _read(p, MAX_SOURCE) if p else None


def save_custom_sources(custom_modules):
    """SimplyPy's: path -> source of each of the user's modules (those
    that cannot be read are left out), within MAX_SOURCES in all."""
    saved = {}
    total = 0
    for p in custom_modules:
        if total >= MAX_SOURCES:
            break
        s = _read(p, MAX_SOURCE)
        if s is not None:
            saved[p] = s
            total += len(s)
    return saved


def _read(path, limit):
    try:
        with open(path, "r", encoding="utf-8") as f:
            s = f.read(limit + 1)
    except (OSError, UnicodeDecodeError):
        return None
    if len(s) > limit:
        s = s[:limit] + "\n# ... (cut by sigoco at %d characters)\n" % limit
    return s


def module_versions():
    """Top-level imported modules and their __version__ (None if unknown)."""
    out = {}
    for name, mod in list(sys.modules.items()):
        if "." in name or name.startswith("_"):
            continue
        v = getattr(mod, "__version__", None)
        out[name] = v if isinstance(v, str) else (str(v) if v is not None else None)
    return out


def start_metadata():
    custom, _ = get_imports()
    main = get_main_script()
    sources = save_custom_sources([p for p in custom if p != main])
    m = {
        "simply.language": "python",
        "simply.python.cwd": os.getcwd(),
        "simply.python.main_script": main,
        "simply.python.main_script_source": load_main_script_source(),
        "simply.python.custom_modules": custom,
        "simply.python.sys_modules": module_versions(),
        "simply.python.source_custom_modules": sources,
        "python.version": sys.version,
        "python.implementation": platform.python_implementation(),
        "python.executable": sys.executable,
        "platform": platform.platform(),
        "os": sys.platform,
        "arch": platform.machine(),
        "cpus": os.cpu_count() or 0,
        "args": list(sys.argv),
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    try:
        m["user"] = getpass.getuser()
    except Exception:
        pass
    return m
