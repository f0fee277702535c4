"""Handlers of ``bayeslab library import`` / ``list`` and ``bayeslab prior`` (issue 25).

The experiment library is a DuckDB file the user names with ``--library PATH``
(:mod:`bayeslab.data.library`); ``import`` adds past experiments from another tool's CSV
(:mod:`bayeslab.data.library_csv` documents the columns), ``list`` shows what the library holds.
"""

from __future__ import annotations

from bayeslab.cli.common import emit

#: columns of ``library list`` as a table: header, then the row's field
_SHOWN = (("experiment", "experiment"), ("metric", "metric"), ("arm", "arm"),
          ("effect (± se)", None), ("shipped", "shipped"), ("verdict", "verdict"),
          ("ended", "end_date"), ("source", "source"))


def cmd_library_import(args) -> int:
    """Add the past experiments of a CSV file to the library (created if it does not exist)."""
    from bayeslab.data.library import ExperimentLibrary

    done = ExperimentLibrary(args.library).import_csv(args.file, scale=args.scale)
    emit({**done.to_dict(), "file": str(args.file)}, f"{args.file}: {done.sentence()}",
         args.format)
    return 0


def cmd_library_list(args) -> int:
    """Show the library's rows (of one metric with ``--metric``), oldest first."""
    from bayeslab.data.library import ExperimentLibrary

    lib = ExperimentLibrary(args.library)
    frame = lib.rows(args.metric)
    records = [_jsonable(r) for r in frame.to_dict("records")]
    payload = {"library": str(args.library), "metric": args.metric, "rows": records}
    if not records:
        what = f"of metric {args.metric!r} " if args.metric is not None else ""
        metrics = lib.summary()["metric"].tolist() if args.metric is not None else []
        known = f" (metrics: {', '.join(metrics)})" if metrics else ""
        emit(payload, f"no rows {what}in {args.library}{known}", args.format)
        return 0
    experiments = len({r["experiment_id"] for r in records})
    head = (f"{args.library}: {len(records):,} {'row' if len(records) == 1 else 'rows'}, "
            f"{experiments:,} {'experiment' if experiments == 1 else 'experiments'}")
    emit(payload, head + "\n" + _table(records), args.format)
    return 0


def _table(records: list[dict]) -> str:
    """The rows as an aligned text table, effects in their unit (pp, %, the metric's unit)."""
    cells = [[h for h, _ in _SHOWN]]
    for r in records:
        line = []
        for _header, key in _SHOWN:
            if key is None:
                line.append(_effect(r))
            elif key == "shipped":
                line.append("yes" if r["shipped"] else "no")
            else:
                line.append("" if r[key] is None else str(r[key]))
        cells.append(line)
    widths = [max(len(row[i]) for row in cells) for i in range(len(_SHOWN))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def _effect(r: dict) -> str:
    """The estimate on the row's own scale with its standard error: ``+2.31% (± 1.20%)``."""
    from bayeslab.core import format as fmt

    scale = r["effect_scale"]
    sfx = "abs" if scale == "absolute" else "rel"
    estimate, se = r[f"estimate_{sfx}"], r[f"se_{sfx}"]
    kind, unit = r["kind"] or "", r["unit"]
    return (f"{fmt.effect(estimate, scale, kind, unit)} "
            f"(± {fmt.effect(se, scale, kind, unit).lstrip('+')})")


def _jsonable(record: dict) -> dict:
    """A library row for JSON: dates as ISO text, missing values as null."""
    import math

    import pandas as pd

    from bayeslab.core.estimates import jsonable

    out: dict[str, object] = {}
    for key, value in record.items():
        if value is None or (isinstance(value, float) and math.isnan(value)) or (
                value is pd.NaT):
            out[key] = None
        elif isinstance(value, pd.Timestamp):
            out[key] = (value.date().isoformat() if key in ("start_date", "end_date")
                        else value.isoformat())
        else:
            out[key] = jsonable(value)
    return out


def cmd_prior(args) -> int:
    """Fit the effect distribution of one metric's past experiments and print it."""
    import sys

    from bayeslab.plan.inputs import fit_library_history

    fit = fit_library_history(args.library, args.metric, scale=args.scale, family=args.family,
                              seed=args.seed, progressbar=sys.stderr.isatty())
    payload = {**fit.to_dict(), "metric": args.metric, "scale": args.scale,
               "library": str(args.library)}
    use = (f"use it in a plan: library = \"{args.library}\" and prior = \"library\" on metric "
           f"{args.metric!r} (the {args.scale} effect: a run fits it again at run time, "
           "leaving its own rows out)")
    if args.scale != "absolute":
        use = ("a plan's prior = \"library\" reads the absolute scale; this fit is on the "
               "relative scale, for reading only")
    emit(payload, f"{args.metric} ({args.scale} effect): {fit}\n{use}", args.format)
    return 0
