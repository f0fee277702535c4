"""Save and re-read a posterior (an xarray DataTree) with the settings and data summary of a fit.

The installed stack has no netCDF4 / HDF5 or zarr backend, which a one-file DataTree needs, so a
fit is stored as a directory: one classic netCDF file per group (written by scipy, always
available), plus ``meta.json`` with the settings. Attributes that netCDF classic cannot hold
(lists, dicts, booleans) are stored as JSON text and decoded on load.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.core.estimates import jsonable

FORMAT = "bayeslab-fit/1"


def _encode_attrs(attrs: dict) -> dict:
    return {f"json:{k}": json.dumps(jsonable(v)) for k, v in attrs.items()}


def _decode_attrs(attrs: dict) -> dict:
    out = {}
    for k, v in attrs.items():
        out[k.removeprefix("json:")] = json.loads(v) if k.startswith("json:") else v
    return out


def _plain(ds):
    """Copy of a Dataset whose string data and coordinates are numpy unicode (netCDF-safe)."""
    ds = ds.copy()
    for name in list(ds.variables):
        values = ds[name].values
        if values.dtype.kind in "OUT" or str(values.dtype).startswith("str"):
            ds[name] = ds[name].copy(data=np.asarray(values, dtype=str))
    ds.attrs = _encode_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = _encode_attrs(ds[name].attrs)
    return ds


def save_tree(path, tree, meta: dict, extra: dict | None = None) -> Path:
    """Write ``tree``'s groups, the ``extra`` Datasets and ``meta`` under directory ``path``.

    Parameters
    ----------
    path : str or Path
        Directory to create (an existing one is overwritten file by file).
    tree : xarray.DataTree
    meta : dict
        JSON-serialisable settings.
    extra : dict of str to xarray.Dataset, optional
        More groups (e.g. the cell data the model saw).

    Returns
    -------
    Path
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    groups = {name: tree[name].to_dataset() for name in tree.children}
    groups.update(extra or {})
    for name, ds in groups.items():
        _plain(ds).to_netcdf(path / f"{name}.nc", engine="scipy")
    manifest = {"format": FORMAT, "groups": list(groups), "meta": jsonable(meta)}
    (path / "meta.json").write_text(json.dumps(manifest, indent=1))
    return path


def load_tree(path):
    """Read a directory written by :func:`save_tree`.

    Returns
    -------
    groups : dict of str to xarray.Dataset
        Every group, loaded into memory.
    meta : dict

    Raises
    ------
    DataError
        ``path`` is not a saved fit.
    """
    import xarray as xr

    path = Path(path)
    manifest_path = path / "meta.json"
    if not manifest_path.is_file():
        raise DataError(f"{str(path)!r} is not a saved bayeslab fit (no meta.json)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise DataError(f"{str(path)!r} has format {manifest.get('format')!r}, "
                        f"expected {FORMAT!r}")
    groups = {}
    for name in manifest["groups"]:
        with xr.open_dataset(path / f"{name}.nc", engine="scipy") as ds:
            ds = ds.load()
        ds.attrs = _decode_attrs(ds.attrs)
        for var in ds.variables:
            ds[var].attrs = _decode_attrs(ds[var].attrs)
        groups[name] = ds
    return groups, manifest["meta"]


def tree_from_groups(groups: dict, names):
    """Build a DataTree of the named groups."""
    import xarray as xr

    return xr.DataTree.from_dict({name: groups[name] for name in names if name in groups})
