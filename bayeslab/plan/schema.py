"""Analysis plans: a TOML file written before the data comes in, validated with clear errors.

A plan names the data source, the column roles, the metrics (one primary, any number of secondary
metrics and guardrails with margins), the model and prior of each, the decision rule, the segments,
the sequential rule and look schedule, and the seed. ``bayeslab run PLAN --out DIR`` executes it;
``bayeslab init`` writes a commented starter plan. Every validation error names the key and, where
the file has it, the line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bayeslab.core import kinds
from bayeslab.core.errors import BayeslabError, ModelError

ROLES = ("primary", "secondary", "guardrail")

_SECTIONS = {
    "experiment": {"name": str, "description": str, "seed": int},
    "data": {"path": str, "sql": str, "simulate": dict, "table": str, "n": str, "missing": str,
             "engine": str},
    "columns": {"arm": str, "control": (str, int), "unit_id": str, "timestamp": str,
                "planned_split": list, "cluster": str, "period": str},
    "decision": {"correction": str, "scope": list,
                 "prob_threshold": float, "loss_threshold": float, "alpha": float,
                 "srm_threshold": float, "interval": float,
                 "target_false_ship": float},
    "segments": {"columns": list, "metric": str, "draws": int, "tune": int, "chains": int,
                 "scan": list},
    "sequential": {"metric": str, "timestamp": str, "looks": (str, int, list), "rule": dict,
                   "spending": str, "fpr_sims": int},
    # the whole rule's simulation (bayeslab.plan.oc): values before data exists, or overrides
    "design": {"units": int, "baselines": dict, "sds": dict, "mde": (float, str),
               "correlation": float, "sims": int},
}
_METRIC_KEYS = {"name": str, "role": str, "kind": str, "prior": (list, dict, str),
                "margin": (float, str), "label": str, "draws": int, "tune": int, "chains": int,
                "unit": str, "covariates": list}


def _metric_keys() -> dict:
    """Keys a metric table takes: the common ones and every option of the kind registry."""
    return {**_METRIC_KEYS, **{o.name: o.type for o in kinds.OPTIONS.values()}}


class PlanError(BayeslabError):
    """An analysis plan is malformed: the message names the key and the line."""


@dataclass(frozen=True)
class MetricPlan:
    """One metric of a plan (see :func:`load_plan` for the keys)."""

    name: str
    kind: str
    role: str = "secondary"
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """A validated analysis plan.

    Attributes
    ----------
    path : pathlib.Path
        The TOML file (relative data paths are resolved against its folder).
    name : str
    seed : int
    data, columns, decision, segments, sequential, design : dict
        The plan's sections as written (validated); ``design`` feeds the simulation of the
        whole rule (:mod:`bayeslab.plan.oc`).
    metrics : tuple of MetricPlan
        Primary first.
    library : pathlib.Path, optional
        The experiment library (a DuckDB file, top-level ``library = "..."``, relative to the
        plan's folder) a run appends its rows to; nothing is written without one.
    """

    path: Path
    name: str
    seed: int
    data: dict
    columns: dict
    decision: dict
    metrics: tuple[MetricPlan, ...]
    segments: dict = field(default_factory=dict)
    sequential: dict = field(default_factory=dict)
    description: str = ""
    design: dict = field(default_factory=dict)
    library: Path | None = None

    @property
    def primary(self) -> MetricPlan:
        """The primary metric."""
        return self.metrics[0]

    def by_role(self, role: str) -> list[MetricPlan]:
        """Metrics of one role."""
        return [m for m in self.metrics if m.role == role]

    def data_path(self) -> Path | None:
        """Data file resolved against the plan's folder (``None`` for SQL or simulated data)."""
        if "path" not in self.data:
            return None
        p = Path(self.data["path"])
        return p if p.is_absolute() else (self.path.parent / p)


def _line_of(text: str, key: str, section: str | None = None, index: int | None = None) -> str:
    """``" (line N)"`` for the first ``key =`` inside ``section`` (or anywhere), else ``""``."""
    lines = text.splitlines()
    start = 0
    if section:
        pattern = re.compile(rf"^\s*\[\[?\s*{re.escape(section)}\s*\]\]?\s*(#.*)?$")
        hits = [i for i, ln in enumerate(lines) if pattern.match(ln)]
        if hits:
            start = hits[index or 0] if index is not None and index < len(hits) else hits[0]
        if not key:
            return f" (line {start + 1})" if hits else ""
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start, len(lines)):
        if i > start and section and re.match(r"^\s*\[", lines[i]):
            break
        if key_re.match(lines[i]):
            return f" (line {i + 1})"
    return ""


def _check_type(value, expected, where: str, line: str):
    types = expected if isinstance(expected, tuple) else (expected,)
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
        names = " or ".join(t.__name__ for t in types)
        raise PlanError(f"{where}{line} must be {names}, got {value!r}")


def _covariate_option(options: dict, where: str, line: str) -> None:
    """Normalize ``covariates = ["a", "b"]`` / ``covariate = "a,b"`` to ``covariate = "a,b"``."""
    if "covariates" in options:
        if "covariate" in options:
            raise PlanError(f"{where}{line} gives both covariate and covariates; keep one")
        options["covariate"] = options.pop("covariates")
    value = options.get("covariate")
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise PlanError(f"{where}.covariates{line} must be a list of column names, got "
                            f"{value!r}")
        options["covariate"] = ",".join(v.strip() for v in value)


def read_plan_text(path: Path) -> str:
    """The plan file's text; a :class:`PlanError` (one line) for anything but a UTF-8 file."""
    if not path.exists():
        raise PlanError(f"plan file not found: {path}")
    if path.is_dir():
        raise PlanError(f"{path} is a folder; give the plan's TOML file (e.g. {path}/plan.toml)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")   # a byte-order mark (Windows editors) is not content
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise PlanError(f"{path}: not UTF-8 text (byte {exc.start + 1}, line {line}); save the "
                        "plan as UTF-8") from None


def _check_prior(prior, where: str) -> None:
    """A metric's Beta prior: ``{alpha = A, beta = B}`` or ``[A, B]``, both positive numbers."""
    if isinstance(prior, dict):
        unknown = sorted(set(prior) - {"alpha", "beta"})
        if unknown:
            raise PlanError(f"{where}: unknown prior key {', '.join(map(repr, unknown))}; "
                            "a prior is { alpha = A, beta = B }")
        values = list(prior.values())
    else:
        values = list(prior)
        if len(values) != 2:
            raise PlanError(f"{where} must be [alpha, beta], got {prior!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
            raise PlanError(f"{where}: alpha and beta must be positive numbers, got {v!r}")


def _correction(decision: dict, path: Path, text: str) -> None:
    """Check ``decision.correction`` / ``decision.scope`` and fill in their defaults.

    Afterwards ``decision["correction"]`` is a method name (default ``"holm"``) and
    ``decision["scope"]`` a list in canonical order (default ``["variants", "segments"]``);
    :mod:`bayeslab.readout.corrections` says what they mean.
    """
    from bayeslab.readout.corrections import Correction

    try:
        corr = Correction.from_plan(decision)
    except ModelError as exc:
        key = "correction" if "correction must" in str(exc) else "scope"
        raise PlanError(f"{path}: decision.{key}{_line_of(text, key, 'decision')}: "
                        f"{exc}") from None
    decision["correction"], decision["scope"] = corr.method, list(corr.scope)


def load_plan(path) -> Plan:
    """Read and validate a plan.

    Parameters
    ----------
    path : str or pathlib.Path
        TOML file with sections ``[experiment]`` (name, seed), ``[data]`` (exactly one of
        ``path``, ``sql``, ``simulate = {scenario, rows, seed}``), ``[columns]`` (``arm``,
        ``control``, ...), ``[decision]``, one ``[[metrics]]`` table per metric (``name``,
        ``kind``, ``role``; ``margin`` for guardrails; ``covariate``, ``prior``, ...), and
        optionally ``[segments]`` and ``[sequential]``. ``[decision]`` may name the
        multiple-testing ``correction`` and its ``scope``; both are filled in with their
        defaults (:mod:`bayeslab.readout.corrections`).

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        A missing file, a folder, a file that is not UTF-8, unreadable TOML (with its line),
        unknown sections or keys, wrong types, a missing required key, not exactly one primary
        metric, a guardrail without a margin, a seed outside 0 .. 2**32 - 1.
    """
    path = Path(path)
    text = read_plan_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{path}: not valid TOML: {exc}") from None
    library = raw.pop("library", None)
    if library is not None and (not isinstance(library, str) or not library.strip()):
        raise PlanError(f"{path}: library{_line_of(text, 'library')} must be the path of a "
                        "DuckDB file, e.g. library = \"experiments.duckdb\"")
    plugins = raw.pop("plugins", [])
    if not isinstance(plugins, list):
        raise PlanError(f"{path}: plugins{_line_of(text, 'plugins')} must be a list of module "
                        "names, e.g. plugins = [\"mypkg.kinds\"]")
    try:
        kinds.import_plugins(plugins)     # before the metrics: their kinds may come from these
    except ModelError as exc:
        raise PlanError(f"{path}: {exc}{_line_of(text, 'plugins')}") from None
    for section in raw:
        if section not in _SECTIONS and section != "metrics":
            raise PlanError(f"{path}: unknown section [{section}]{_line_of(text, '', section)}; "
                            f"sections are {', '.join([*_SECTIONS, 'metrics'])}")
    out = {}
    for section, schema in _SECTIONS.items():
        table = raw.get(section, {})
        if not isinstance(table, dict):
            raise PlanError(f"{path}: [{section}] must be a table")
        for key, value in table.items():
            line = _line_of(text, key, section)
            if key not in schema:
                raise PlanError(f"{path}: unknown key {section}.{key}{line}; allowed: "
                                f"{', '.join(schema)}")
            _check_type(value, schema[key], f"{path}: {section}.{key}", line)
        out[section] = dict(table)
    data = out["data"]
    given = [k for k in ("path", "sql", "simulate", "table") if k in data]
    if len(given) != 1:
        raise PlanError(f"{path}: [data] needs exactly one of path, sql, simulate, table"
                        f"{_line_of(text, '', 'data')}; found {given or 'none'}")
    engine = data.get("engine", "duckdb")
    if engine not in ("duckdb", "spark"):
        raise PlanError(f"{path}: data.engine{_line_of(text, 'engine', 'data')} must be "
                        f"'duckdb' or 'spark', got {engine!r}")
    if "table" in data and engine != "spark":
        raise PlanError(f"{path}: data.table{_line_of(text, 'table', 'data')} names a Spark "
                        "table: set data.engine = \"spark\" (or give data.path)")
    if "simulate" in data and "scenario" not in data["simulate"]:
        line = _line_of(text, "simulate", "data")
        raise PlanError(f"{path}: data.simulate needs a scenario{line}")
    if "arm" not in out["columns"]:
        raise PlanError(f"{path}: columns.arm is required{_line_of(text, '', 'columns')}")
    metrics = raw.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise PlanError(f"{path}: the plan needs at least one [[metrics]] table")
    plans = []
    for i, m in enumerate(metrics):
        keys = _metric_keys()
        for key, value in m.items():
            line = _line_of(text, key, "metrics", i)
            if key not in keys:
                raise PlanError(f"{path}: unknown key metrics[{i}].{key}{line}; allowed: "
                                f"{', '.join(keys)}")
            _check_type(value, keys[key], f"{path}: metrics[{i}].{key}", line)
        where = _line_of(text, "", "metrics", i)
        if "name" not in m:
            raise PlanError(f"{path}: metrics[{i}] needs a name{where}")
        kind = m.get("kind", "conversion")
        role = m.get("role", "secondary")
        if kind not in kinds.names():
            raise PlanError(f"{path}: metrics[{i}].kind{_line_of(text, 'kind', 'metrics', i)} "
                            f"must be one of {', '.join(kinds.names())}, got {kind!r}")
        if role not in ROLES:
            raise PlanError(f"{path}: metrics[{i}].role{_line_of(text, 'role', 'metrics', i)} "
                            f"must be one of {', '.join(ROLES)}, got {role!r}")
        if role == "guardrail" and "margin" not in m:
            raise PlanError(f"{path}: guardrail {m['name']!r} needs a margin{where}")
        if "margin" in m:
            from bayeslab.readout.metric import parse_margin

            line = _line_of(text, "margin", "metrics", i)
            if role != "guardrail":
                raise PlanError(f"{path}: metrics[{i}].margin{line} is for guardrails; "
                                f"{m['name']!r} is {role}")
            try:
                parse_margin(m["margin"], f"metrics[{i}].margin")
            except BayeslabError as exc:
                raise PlanError(f"{path}: {exc}{line}") from None
        if "prior" in m and m["prior"] != "library":    # "library": learned from history
            _check_prior(m["prior"], f"{path}: metrics[{i}].prior"
                         f"{_line_of(text, 'prior', 'metrics', i)}")
        options = {k: v for k, v in m.items() if k not in ("name", "kind", "role")}
        _covariate_option(options, f"{path}: metrics[{i}]",
                          _line_of(text, "covariates", "metrics", i)
                          or _line_of(text, "covariate", "metrics", i))
        plans.append(MetricPlan(name=m["name"], kind=kind, role=role, options=options))
    primaries = [p for p in plans if p.role == "primary"]
    if len(primaries) != 1:
        raise PlanError(f"{path}: exactly one metric must have role = \"primary\", found "
                        f"{len(primaries)}")
    plans.sort(key=lambda p: ROLES.index(p.role))
    seg = out["segments"]
    if seg:
        name = seg.get("metric", primaries[0].name)
        target = next((p for p in plans if p.name == name), None)
        line = _line_of(text, "metric" if "metric" in seg else "", "segments")
        segmentable = kinds.names(segments=True)
        if target is None or target.role == "guardrail" or target.kind not in segmentable:
            raise PlanError(f"{path}: segments.metric{line} must name a primary or secondary "
                            f"metric of kind {', '.join(segmentable)}, got {name!r}")
    if seg and "scan" in seg and (not seg["scan"] or not all(
            isinstance(c, str) and c.strip() for c in seg["scan"])):
        raise PlanError(f"{path}: segments.scan{_line_of(text, 'scan', 'segments')} must name "
                        "property columns, e.g. scan = [\"country\", \"platform\"]")
    if seg and not seg.get("columns") and not seg.get("scan"):
        raise PlanError(f"{path}: segments.columns{_line_of(text, 'columns', 'segments')} must "
                        "name one or two segment columns, e.g. columns = [\"country\"]")
    seq = out["sequential"]
    if seq:
        names = [p.name for p in plans]
        if "metric" in seq and seq["metric"] not in names:
            raise PlanError(f"{path}: sequential.metric{_line_of(text, 'metric', 'sequential')} "
                            f"must name a metric of the plan ({', '.join(names)}), got "
                            f"{seq['metric']!r}")
        if "spending" in seq:
            from bayeslab.sequential.spending import parse_spending

            try:
                parse_spending(seq["spending"])
            except ModelError as exc:
                raise PlanError(f"{path}: sequential.spending"
                                f"{_line_of(text, 'spending', 'sequential')}: {exc}") from None
    _correction(out["decision"], path, text)
    exp = out["experiment"]
    if not 0 <= exp.get("seed", 0) <= 2**32 - 1:
        raise PlanError(f"{path}: experiment.seed{_line_of(text, 'seed', 'experiment')} must be "
                        f"a whole number from 0 to {2**32 - 1}, got {exp['seed']!r}")
    return Plan(path=path, name=exp.get("name", path.stem), seed=int(exp.get("seed", 0)),
                description=exp.get("description", ""), data=data, columns=out["columns"],
                decision=out["decision"], metrics=tuple(plans), segments=out["segments"],
                sequential=out["sequential"], design=out["design"],
                library=None if library is None else (
                    Path(library) if Path(library).is_absolute() else path.parent / library))
