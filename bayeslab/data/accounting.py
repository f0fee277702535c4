"""Row accounting: every row read is either used or excluded for a stated reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowAccount:
    """Where the rows of a readout went.

    Attributes
    ----------
    read : int
        Rows in the source table.
    used : int
        Rows that entered the estimate.
    excluded : dict of str to int
        Rows left out, by reason (for example ``{"revenue is missing": 12}``).
    units : int, optional
        For pre-aggregated input, the number of units (sum of the ``n`` column) behind the rows
        used; ``None`` for unit-level input, where ``used`` is the number of units.
    """

    read: int
    used: int
    excluded: dict[str, int] = field(default_factory=dict)
    units: int | None = None

    def __post_init__(self):
        if self.read != self.used + sum(self.excluded.values()):
            raise AssertionError(  # an internal bookkeeping bug, never a user error
                f"row accounting does not add up: read {self.read}, used {self.used}, "
                f"excluded {self.excluded}"
            )

    @property
    def n_excluded(self) -> int:
        """Total number of rows excluded, whatever the reason."""
        return sum(self.excluded.values())

    def to_dict(self) -> dict:
        """JSON-safe form: ``read``, ``used``, ``excluded`` (a count) and ``exclusions``."""
        out = {
            "read": int(self.read),
            "used": int(self.used),
            "excluded": int(self.n_excluded),
            "exclusions": [{"reason": k, "rows": int(v)} for k, v in self.excluded.items()],
        }
        if self.units is not None:
            out["units"] = int(self.units)
        return out

    def __str__(self) -> str:
        text = f"rows read {self.read:,}, used {self.used:,}, excluded {self.n_excluded:,}"
        if self.excluded:
            text += " (" + "; ".join(f"{k}: {v:,}" for k, v in self.excluded.items()) + ")"
        if self.units is not None:
            text += f"; {self.units:,} units"
        return text
