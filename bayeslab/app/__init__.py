"""``bayeslab app``: a Streamlit app over a run's output folder (optional extra ``app``).

The pure functions behind it live in :mod:`bayeslab.app.data` (no Streamlit needed); the
Streamlit script is :mod:`bayeslab.app.streamlit_app`. Importing this package imports neither.
"""

from __future__ import annotations

from pathlib import Path

#: Environment variable naming the run folder, read by the Streamlit script.
RUN_DIR_ENV = "BAYESLAB_APP_RUN_DIR"


def script_path() -> Path:
    """Path of the Streamlit script, for ``streamlit run``."""
    return Path(__file__).with_name("streamlit_app.py")


__all__ = ["RUN_DIR_ENV", "script_path"]
