"""A report as data: sections of text, tables and figures, rendered to HTML or Markdown.

The run of a plan (or any script) builds a :class:`Document`; :mod:`bayeslab.report.html` and
:mod:`bayeslab.report.markdown` render it. Keeping the content separate from the rendering lets
tests check that every section and figure is present without parsing styling.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    """A table: column names and rows of already formatted cells."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    @classmethod
    def from_frame(cls, frame, caption: str = "", digits: int = 4) -> Table:
        """Format a pandas DataFrame (numbers to ``digits`` significant digits, separators)."""
        from bayeslab.core.format import number

        def fmt(v):
            if isinstance(v, bool):
                return str(v)
            if isinstance(v, int):
                return f"{v:,}"
            if isinstance(v, float):
                return "" if v != v else number(v, digits)
            return "" if v is None else str(v)

        return cls(columns=tuple(str(c) for c in frame.columns),
                   rows=tuple(tuple(fmt(v) for v in row) for row in frame.itertuples(index=False)),
                   caption=caption)


@dataclass(frozen=True)
class Figure:
    """A PNG figure with a name (its file name) and a caption."""

    name: str
    png: bytes = field(repr=False)
    caption: str = ""

    @property
    def file_name(self) -> str:
        """``NAME.png``, the name made safe (:func:`bayeslab.core.paths.safe_filename`)."""
        from bayeslab.core.paths import safe_filename

        return f"{safe_filename(self.name)}.png"


@dataclass(frozen=True)
class Section:
    """A titled section: paragraphs, then tables, then figures; ``key`` identifies it in tests."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Document:
    """A whole report: title, blocking problems, headline decision, notes, sections.

    ``warnings`` are the blocking problems (failed checks that prevent or limit a decision),
    shown above the decision; ``notes`` are informational (a remedy that was applied, an
    assumption that may not hold), shown after it.
    """

    title: str
    headline: str
    verdict: str
    warnings: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    footer: str = ""
    notes: tuple[str, ...] = ()

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [f for s in self.sections for f in s.figures]


def figure_png(fig, dpi: int = 110) -> bytes:
    """Render a matplotlib Figure to PNG bytes and close it."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
