"""Handlers of the plan commands: ``run``, ``init`` and ``app``."""

from __future__ import annotations

import sys

from bayeslab.cli.common import emit
from bayeslab.cli.errors import EXIT_BAD_INPUT


def cmd_run(args) -> int:
    """Run an analysis plan and write its outputs."""
    from bayeslab.plan.runner import run_plan

    result = run_plan(args.plan, args.out, quiet=True if args.quiet else None,
                      engine=args.engine, library=args.library)
    files = {k: str(v) for k, v in result.files.items()}
    text = (f"{result.plan.name}: {result.decision.verdict.upper()}. "
            f"{result.decision.reasons[0]}\n"
            + "".join(f"warning: {w}\n" for w in result.warnings())
            + f"wrote {len(files)} files to {args.out}: report.html, readout.json, "
            f"{sum(str(v).endswith('.png') for v in files.values())} figures")
    payload = {"decision": result.decision.to_dict(), "warnings": result.warnings(),
               "files": files}
    if result.library is not None:
        written = result.library["write"]
        text += f"\nexperiment library: {written.sentence()}" + "".join(
            f"\nexperiment library: {u}" for u in result.library["unrecorded"])
        payload["library"] = {**written.to_dict(), "unrecorded": result.library["unrecorded"]}
    emit(payload, text, args.format)
    return 0


def cmd_oc(args) -> int:
    """Simulate the plan's whole rule (and calibrate it when the plan sets a target)."""
    from bayeslab.core import format as fmt
    from bayeslab.plan.oc import plan_oc_from_data

    oc, calibration = plan_oc_from_data(args.plan, n_sims=args.sims, engine=args.engine)
    payload = oc.to_dict()
    lines = [oc.sentence()]
    for side in ("bayes", "frequentist", "combined"):
        s = oc[side]
        se = s.mc_se
        lines.append(f"  {side:12s} false-ship {fmt.pct(s.false_ship_rate)} (± "
                     f"{fmt.pct(se['false_ship_rate'])}), any metric declared a win "
                     f"{fmt.pct(s.family_wise_rate)}, power {fmt.pct(s.power)} (± "
                     f"{fmt.pct(se['power'])}), expected units {s.expected_n:,.0f} (null "
                     f"{s.expected_n_null:,.0f})")
    lines += [f"  note: {n}" for n in oc.design.notes]
    if calibration is not None:
        payload["calibration"] = calibration.to_dict()
        lines.append(calibration.sentence())
    emit(payload, "\n".join(lines), args.format)
    return 0


def cmd_init(args) -> int:
    """Write a commented starter plan."""
    from pathlib import Path

    from bayeslab.core.errors import DataError

    target = Path(args.path)
    if target.exists() and not args.force:
        raise DataError(f"{target} exists; pass --force to overwrite it")
    template = Path(__file__).parent.parent.joinpath("plan", "template.toml").read_text()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(template)
    print(f"wrote a starter plan to {target}; edit it, then: bayeslab run {target} --out DIR")
    return 0


def cmd_app(args) -> int:
    """Open the Streamlit app over a run's output folder (needs the ``app`` extra)."""
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        print("bayeslab: error: the app needs Streamlit: pip install 'bayeslab[app]'",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    from bayeslab.app import LOOPBACK, serve
    from bayeslab.app.data import load_run

    folder = str(load_run(args.dir).path.resolve())
    if args.host not in LOOPBACK:
        print(f"bayeslab: warning: serving on {args.host}: anyone who can reach this machine "
              "can read the run's results", file=sys.stderr)
    code = serve(folder, host=args.host, port=args.port, open_browser=not args.headless)
    if code == 130:
        print("bayeslab: interrupted; the app server was stopped", file=sys.stderr)
    return code
