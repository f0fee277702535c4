"""A run folder as ``bayeslab app`` reads it: readouts, segments, looks and saved counts.

:func:`load_run` reads the ``readout.json`` that :func:`bayeslab.plan.runner.run_plan` wrote, each
metric's readout back through the readout contract (:mod:`bayeslab.readout.contract`);
:func:`list_metrics`, :func:`list_segments` and :func:`list_looks` say what the user can pick;
:func:`arm_counts` gives the saved per-arm counts of a metric, a segment or a look.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayeslab.core.errors import DataError
from bayeslab.core.estimates import DEFAULT_LEVEL, Estimate
from bayeslab.core.format import SEP as SEGMENT_SEP  # noqa: E402  (re-exported by app.data)
from bayeslab.readout.contract import SavedReadout, readout_from_dict


@dataclass(frozen=True)
class RunFolder:
    """A run's output folder, as written by :func:`bayeslab.plan.runner.run_plan`.

    Attributes
    ----------
    path : pathlib.Path
    readout : dict
        The content of ``readout.json``.
    """

    path: Path
    readout: dict = field(repr=False)

    @property
    def name(self) -> str:
        """The plan's experiment name."""
        return str(self.readout.get("name") or self.path.name)

    @property
    def entries(self) -> dict[str, dict]:
        """Every metric's saved readout by name: primary, its guardrails, then secondary."""
        out = {}
        for entry in self.readout.get("metrics", []):
            out.setdefault(entry["metric"], entry)
            for g in entry.get("guardrails", []):
                out.setdefault(g["metric"], g)
        return out

    @property
    def readouts(self) -> dict[str, SavedReadout]:
        """Every metric's readout read back through the readout contract, by name."""
        return {name: readout_from_dict(entry) for name, entry in self.entries.items()}

    @property
    def decision(self):
        """The run's decision (:class:`~bayeslab.core.decision.Decision`), or ``None``."""
        from bayeslab.core.decision import Decision

        d = self.readout.get("decision")
        return Decision.from_dict(d) if d else None

    @property
    def monitor(self) -> dict | None:
        """The saved sequential monitor, if the plan had one."""
        return self.readout.get("monitor")

    def figures(self) -> list[Path]:
        """The PNG figures of the run, by name: regular files inside the folder only.

        A link (to a file anywhere on the machine) is never followed or served.
        """
        folder = self.path.resolve()
        return [p for p in sorted(self.path.glob("*.png"))
                if not p.is_symlink() and p.is_file() and p.resolve().parent == folder]


def load_run(path) -> RunFolder:
    """Read a run folder (the ``--out`` folder of ``bayeslab run``).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    RunFolder

    Raises
    ------
    DataError
        No folder, no ``readout.json`` in it, or a file that is not a readout.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"run folder {str(path)!r} not found: give the --out folder of "
                        "'bayeslab run'")
    file = path / "readout.json"
    if not file.is_file():
        raise DataError(f"{str(path)!r} has no readout.json: give the --out folder of "
                        "'bayeslab run'")
    try:
        readout = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{file} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(readout, dict) or not isinstance(readout.get("metrics"), list):
        raise DataError(f"{file} has no 'metrics' list: it is not a bayeslab run readout")
    for i, entry in enumerate(readout["metrics"]):
        where = f"metrics[{i}]"
        for part in (entry, *(entry.get("guardrails") or [] if isinstance(entry, dict) else [])):
            if not isinstance(part, dict) or not isinstance(part.get("metric"), str):
                raise DataError(f"{file}: {where} (or one of its guardrails) has no 'metric' "
                                "name: the file was edited or is not a bayeslab run readout")
    return RunFolder(path=path, readout=readout)


def list_metrics(run: RunFolder) -> list[str]:
    """Metric names: the primary metric first, then its guardrails, then secondary metrics."""
    return list(run.entries)


def metric_entry(run: RunFolder, metric: str) -> dict:
    """The saved readout of ``metric``.

    Raises
    ------
    DataError
        ``metric`` is not in the run.
    """
    entries = run.entries
    if metric not in entries:
        raise DataError(f"metric {metric!r} is not in this run; it has "
                        f"{', '.join(entries) or 'no metrics'}", column=metric)
    return entries[metric]


def _segment_stats(run: RunFolder, metric: str) -> dict | None:
    """Stats with per-cell counts for ``metric``: its own, else the segment readout's."""
    for entry in (metric_entry(run, metric), run.readout.get("segments") or {}):
        stats = entry.get("stats") or {}
        if entry.get("metric") == metric and stats.get("segments") and stats.get("cells"):
            return stats
    return None


def _cell_label(cell: dict, columns) -> str:
    return SEGMENT_SEP.join(str(cell[c]) for c in columns)


def segment_columns(run: RunFolder, metric: str) -> list[str]:
    """The segment columns of ``metric``'s saved cells (empty without segments)."""
    stats = _segment_stats(run, metric)
    return list(stats["segments"]) if stats is not None else []


def list_segments(run: RunFolder, metric: str) -> list[str]:
    """Segment labels with saved per-cell counts for ``metric`` (``"a"``, ``"a x b"``)."""
    stats = _segment_stats(run, metric)
    if stats is None:
        return []
    return list(dict.fromkeys(_cell_label(c, stats["segments"]) for c in stats["cells"]))


def _monitor_stats(run: RunFolder, metric: str) -> dict | None:
    mon = run.monitor
    if not mon or mon.get("metric") != metric or not (mon.get("stats") or {}).get("looks"):
        return None
    return mon["stats"]


def list_looks(run: RunFolder, metric: str) -> list[str]:
    """Labels of the monitor's looks (dates or cumulative rows) when it followed ``metric``."""
    stats = _monitor_stats(run, metric)
    return [] if stats is None else [look["label"] for look in stats["looks"]]


@dataclass(frozen=True)
class ArmCounts:
    """Units and outcome sums per arm (conversions for a binary metric), control first."""

    arms: tuple[str, ...]
    n: np.ndarray
    sums: np.ndarray
    binary: bool
    source: str


def arm_counts(run: RunFolder, metric: str, *, segment: str | None = None,
               look: str | None = None) -> ArmCounts | None:
    """Saved per-arm counts of ``metric``: all units, one segment, or one look of the monitor.

    Returns ``None`` when the run saved no per-arm statistics for the metric.

    Raises
    ------
    DataError
        Unknown metric, segment or look, or a segment and a look together (the monitor keeps
        no per-segment counts).
    """
    entry = metric_entry(run, metric)
    if segment is not None and look is not None:
        raise DataError("pick a segment or a look, not both: the monitor keeps no "
                        "per-segment counts")
    if look is not None:
        stats = _monitor_stats(run, metric)
        labels = list_looks(run, metric)
        if look not in labels:
            where = f"looks are {', '.join(labels)}" if labels else "no monitor followed it"
            raise DataError(f"look {look!r} is not in this run for {metric!r}: {where}",
                            column="look")
        row = stats["looks"][labels.index(look)]
        return ArmCounts(arms=tuple(stats["arms"]), n=np.asarray(row["n"], dtype=float),
                         sums=np.asarray(row["sum"], dtype=float),
                         binary=stats["kind"] == "binary",
                         source=f"monitor look {row['look']} ({look}), cumulative")
    if segment is not None:
        labels = list_segments(run, metric)
        if segment not in labels:
            where = f"segments are {', '.join(labels)}" if labels else "no segment counts saved"
            raise DataError(f"segment {segment!r} is not in this run for {metric!r}: {where}",
                            column="segment")
        stats = _segment_stats(run, metric)
        cells = [c for c in stats["cells"] if _cell_label(c, stats["segments"]) == segment]
        arms = tuple(stats["arms"])
        n = np.array([sum(c["n"] for c in cells if c["arm"] == a) for a in arms], dtype=float)
        s = np.array([sum(c["sum"] for c in cells if c["arm"] == a) for a in arms], dtype=float)
        return ArmCounts(arms=arms, n=n, sums=s, binary=stats["kind"] == "binary",
                         source=f"segment {segment}")
    stats = entry.get("stats")
    if not stats:
        return None
    return ArmCounts(arms=tuple(stats["arms"]), n=np.asarray(stats["n"], dtype=float),
                     sums=np.asarray(stats["sum"], dtype=float),
                     binary=stats["kind"] == "binary", source="all units")


def saved_prior(run: RunFolder, metric: str) -> tuple[float, float] | None:
    """The Beta prior (alpha, beta) the run used for a conversion metric, else ``None``."""
    prior = metric_entry(run, metric).get("prior")
    if isinstance(prior, dict) and prior.get("distribution") == "Beta":
        return float(prior["alpha"]), float(prior["beta"])
    return None


def recomputable(run: RunFolder, metric: str) -> bool:
    """Whether the run saved the per-arm conversions of ``metric`` (so its prior can change)."""
    stats = metric_entry(run, metric).get("stats") or {}
    return stats.get("kind") == "binary" and saved_prior(run, metric) is not None


def _level(saved: SavedReadout) -> float:
    return next((e.level for e in saved.estimates() if e.level), DEFAULT_LEVEL)


def estimate_from_dict(d: dict) -> Estimate:
    """Rebuild an :class:`~bayeslab.core.estimates.Estimate` from its ``to_dict()`` form."""
    return Estimate.from_dict(d)
