"""A PEP 517 build backend in the standard library only, so that
``pip install ./python`` needs no network (no setuptools to fetch): it
writes a pure-Python wheel of the sigoco package (and an sdist)."""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "sigoco"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _version():
    with open(os.path.join(ROOT, NAME, "__init__.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=")[1].strip().strip("\"'")
    raise RuntimeError("no __version__ in sigoco/__init__.py")


def _metadata(version):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: sigoco's Python tracking client: SimplyPy's API, reporting to trackd (standard library only)\n"
            "Requires-Python: >=3.9\nProvides-Extra: numpy\nRequires-Dist: numpy; extra == \"numpy\"\n"
            "Description-Content-Type: text/markdown\n\n%s" % (NAME, version, readme))


def _files():
    for dirpath, dirs, files in os.walk(os.path.join(ROOT, NAME)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in sorted(files):
            if f.endswith(".py"):
                p = os.path.join(dirpath, f)
                yield p, os.path.relpath(p, ROOT).replace(os.sep, "/")


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _wheel(wheel_directory, editable):
    version = _version()
    dist = "%s-%s" % (NAME, version)
    path = os.path.join(wheel_directory, dist + "-py3-none-any.whl")
    record = []

    def add(z, arc, data):
        z.writestr(arc, data)
        h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arc, h, len(data)))

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        if editable:
            add(z, NAME + ".pth", (ROOT + "\n").encode())
        else:
            for p, arc in _files():
                with open(p, "rb") as f:
                    add(z, arc, f.read())
        info = dist + ".dist-info/"
        add(z, info + "METADATA", _metadata(version).encode("utf-8"))
        add(z, info + "WHEEL", b"Wheel-Version: 1.0\nGenerator: sigoco-backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        record.append(info + "RECORD,,")
        z.writestr(info + "RECORD", "\n".join(record) + "\n")
    return os.path.basename(path)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, True)


def build_sdist(sdist_directory, config_settings=None):
    version = _version()
    dist = "%s-%s" % (NAME, version)
    path = os.path.join(sdist_directory, dist + ".tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for rel in ["pyproject.toml", "README.md", "_build/backend.py"] + [a for _, a in _files()]:
            t.add(os.path.join(ROOT, rel), dist + "/" + rel)
        data = _metadata(version).encode("utf-8")
        ti = tarfile.TarInfo(dist + "/PKG-INFO")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return os.path.basename(path)
