"""The compiled-model cache: a model's compiled logp, gradient and trace functions on disk.

Compiling a PyMC model for nutpie means building its log-density graph, rewriting it and
loading PyTensor's numba code: several seconds in every new process, even when PyTensor's and
numba's own caches are warm (they cache the machine code, not the graph work before it). This
module keeps the *result* of that work, the two compiled PyTensor functions (log density with
its gradient, and the function that expands a draw into the traced variables) and the support
point the chains start from, in one file per model, so a later process loads it in a fraction
of the time.

What a file is keyed by (:func:`fingerprint` and :func:`environment`):

- the model: the text of its log-density, value-variable and deterministic graphs (every
  operation, type and static shape), the bytes of every constant in them (priors, observed
  values that are not ``pm.Data``), and the names, shapes and dtypes of its ``pm.Data``
  (the data values themselves are passed to the compiled functions at each fit, so one file
  serves every data set of the same sizes);
- the machine and libraries: Python, numpy, PyTensor, PyMC, nutpie, numba and llvmlite
  versions, PyTensor's float and numba settings, and the host CPU name and features that numba
  compiles for. A file written on another machine or by another version is never read.

The cache is a plain folder (``$BAYESLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/bayeslab``, else
``~/.cache/bayeslab``; the files are under ``compiled/``), safe to delete at any time. Files are
written atomically (to a temporary name, then renamed), the folder is kept under
``$BAYESLAB_CACHE_MAX_MB`` (default 256) by removing the least recently used files, and a file
that cannot be read (truncated, corrupt, from another format) is ignored with one
:class:`~bayeslab.core.errors.CacheWarning`, removed and rewritten: the fit is the same as without a
cache. ``BAYESLAB_CACHE_DIR=off`` turns the cache off.

No data is written: ``pm.Data`` values are zeroed in the stored functions (the fit passes the
real ones), and a model that holds data in its graph (observed values that are not ``pm.Data``,
or more than 64 KiB of constants) is not cached on disk at all.

The files are Python pickles, which run code when loaded: the folder is created readable by
its owner only, like PyTensor's own compile directory, and nothing else is ever loaded from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import sys
import tempfile
import warnings
from pathlib import Path

from bayeslab.core.errors import CacheWarning

FORMAT = 1
ENV_DIR = "BAYESLAB_CACHE_DIR"
ENV_MAX_MB = "BAYESLAB_CACHE_MAX_MB"
DEFAULT_MAX_MB = 256
MAX_CONSTANT_BYTES = 64 * 1024
_SUFFIX = ".pkl"


def cache_dir() -> Path | None:
    """The folder of compiled models, or ``None`` when ``BAYESLAB_CACHE_DIR=off``."""
    root = os.environ.get(ENV_DIR)
    if root and root.strip().lower() in ("off", "0", "none", "false"):
        return None
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(base) / "bayeslab")
    return Path(root) / "compiled"


def _max_bytes() -> int:
    try:
        mb = float(os.environ.get(ENV_MAX_MB, DEFAULT_MAX_MB))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(max(mb, 0) * 2**20)


def environment() -> dict:
    """What a compiled function depends on besides the model: versions, settings, the CPU."""
    from importlib.metadata import version

    import pytensor
    from llvmlite import binding

    config = pytensor.config
    env = {"format": FORMAT, "python": sys.version, "cpu": binding.get_host_cpu_name(),
           "cpu_features": binding.get_host_cpu_features().flatten(),
           "pytensor_config": repr([(name, str(getattr(config, name, None))) for name in (
               "floatX", "numba__fastmath", "optimizer_excluding", "optimizer_including",
               "optimizer_requiring", "on_opt_error", "cast_policy")])}
    for dist in ("numpy", "pytensor", "pymc", "nutpie", "numba", "llvmlite"):
        env[dist] = version(dist)
    return env


def fingerprint(model) -> str | None:
    """A digest of everything in ``model`` that its compiled functions depend on.

    The log density, the value variables (with their transforms) and the deterministics are
    printed with their types; every constant's bytes and every ``pm.Data``'s name, shape and
    dtype are added. Two models with the same digest compile to the same functions.

    ``None`` when the model holds data in its graph (an observed variable whose values are a
    constant rather than ``pm.Data``, or more than ``MAX_CONSTANT_BYTES`` of constants): such a
    model is not cached on disk, so no data is ever written to the cache folder (and a file for
    one data set would not serve another).
    """
    import numpy as np
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import ancestors
    from pytensor.printing import debugprint

    if any(isinstance(model.rvs_to_values[rv], Constant) for rv in model.observed_RVs):
        return None
    outputs = [model.logp(), *model.value_vars, *model.unobserved_value_vars,
               *model.deterministics]
    text = io.StringIO()
    debugprint(outputs, file=text, print_type=True)
    h = hashlib.sha256(text.getvalue().encode())
    size = 0
    for var in ancestors(outputs):
        if isinstance(var, Constant):
            data = np.asarray(var.data)
            if data.dtype.hasobject:  # a random generator or another object: its kind only
                h.update(type(var.data).__name__.encode())
                continue
            h.update(f"{data.dtype.str}{data.shape}".encode())
            h.update(np.ascontiguousarray(data).tobytes())
            size += data.nbytes
            if size > MAX_CONSTANT_BYTES:
                return None
    for var in model.data_vars:
        value = np.asarray(var.get_value())
        h.update(f"{var.name}:{value.dtype.str}{value.shape}".encode())
    h.update(repr(sorted((k, len(v)) for k, v in model.coords.items()
                         if v is not None)).encode())
    return h.hexdigest()


def _key(digest: str, env: dict) -> str:
    return hashlib.sha256(repr((digest, sorted(env.items()))).encode()).hexdigest()[:40]


def _path(digest: str, env: dict) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"{_key(digest, env)}{_SUFFIX}"


def load(digest: str | None):
    """The payload stored for a model of this fingerprint, or ``None`` (miss or bad file).

    A file that cannot be read is removed with one :class:`CacheWarning`.
    """
    if digest is None:
        return None
    env = environment()
    path = _path(digest, env)
    if path is None or not path.is_file():
        return None
    try:
        st = path.stat()
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise PermissionError("not written by this user, or writable by others: not "
                                  "loaded (a pickle runs code)")
        with path.open("rb") as f:
            stored = pickle.load(f)
        if not (isinstance(stored, dict) and stored.get("env") == env
                and stored.get("digest") == digest):
            raise ValueError("written for another model, version or machine")
        payload = stored["payload"]
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a miss, never a failure
        warnings.warn(f"ignored an unreadable compiled-model cache file {path} "
                      f"({type(exc).__name__}: {exc}); compiling the model again",
                      CacheWarning, stacklevel=3)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # least recently used goes first
    return payload


def store(digest: str | None, payload) -> Path | None:
    """Write ``payload`` for this fingerprint atomically; ``None`` when the cache is off.

    A failure to write (read-only home, full disk, an unpicklable function) only means no
    cache: it warns once and the fit goes on.
    """
    if digest is None:
        return None
    env = environment()
    path = _path(digest, env)
    if path is None:
        return None
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        blob = pickle.dumps({"env": env, "digest": digest, "payload": payload},
                            protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=_SUFFIX)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
        tmp = None
        prune(keep=path)
    except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is no cache
        warnings.warn(f"could not write the compiled-model cache under {path.parent} "
                      f"({type(exc).__name__}: {exc}); models compile in every process",
                      CacheWarning, stacklevel=3)
        return None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def prune(*, keep: Path | None = None) -> int:
    """Remove the least recently used files until the folder fits its size cap; bytes freed."""
    folder = cache_dir()
    if folder is None or not folder.is_dir():
        return 0
    files = []
    for p in folder.glob(f"*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            st = p.stat()
            files.append((st.st_mtime, st.st_size, p))
    total, freed = sum(size for _, size, _ in files), 0
    for _, size, p in sorted(files, key=lambda f: f[0]):
        if total - freed <= _max_bytes():
            break
        if p == keep:
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            freed += size
    return freed


def clear() -> int:
    """Delete every compiled model in the cache folder; the number of files removed."""
    folder = cache_dir()
    if folder is None or not folder.is_dir():
        return 0
    n = 0
    for p in folder.glob(f"*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n
