"""An attacker's toolkit, written apart from rentalcoop.stats.disclosure so it can check it.

- `all_relations` lists every sum relation of a release table from its dimensions alone.
- `exposed` solves the published cells' linear system (exact fractions, column by column) and names the
  withheld cells it pins down.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from fractions import Fraction

TOTAL, ALL = "total", "all"
KINDS = ("month", "quarter", "ytd")


def all_relations(release: str, areas: Iterable[str], types: Iterable[str], earlier=()):
    """(total, parts) for every sum relation of the table of `release` (keys as tuples
    (release, area, kind, type)), and with the releases `earlier` of the same year."""
    areas, types = list(areas), list(types)
    year, month = int(release[:4]), int(release[5:])
    out = []
    for kind in KINDS:
        for t in [*types, ALL]:
            out.append(((release, TOTAL, kind, t), [(release, a, kind, t) for a in areas]))
        for a in [*areas, TOTAL]:
            out.append(((release, a, kind, ALL), [(release, a, kind, t) for t in types]))
    prev = f"{year}-{month - 1:02d}" if month > 1 else None
    qend = f"{year}-{(month - 1) // 3 * 3:02d}" if month > 3 else None
    for a in [*areas, TOTAL]:
        for t in [*types, ALL]:
            if month % 3 == 1:
                out.append(((release, a, "quarter", t), [(release, a, "month", t)]))
            if month <= 3:
                out.append(((release, a, "ytd", t), [(release, a, "quarter", t)]))
            if prev in earlier:
                out.append(
                    ((release, a, "ytd", t), [(prev, a, "ytd", t), (release, a, "month", t)])
                )
                if month % 3 != 1:
                    out.append(
                        (
                            (release, a, "quarter", t),
                            [(prev, a, "quarter", t), (release, a, "month", t)],
                        )
                    )
            if qend in earlier:
                out.append(
                    ((release, a, "ytd", t), [(qend, a, "ytd", t), (release, a, "quarter", t)])
                )
    return out


def _rref(rows: list[dict[int, Fraction]], width: int) -> list[dict[int, Fraction]]:
    """Reduced row echelon form, pivots taken column by column (rows sparse: column → value)."""
    rows = [r for r in rows if r]
    basis: list[dict[int, Fraction]] = []
    for col in range(width):
        pivot = next((r for r in rows if col in r), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        pivot = {c: v / pivot[col] for c, v in pivot.items()}
        rows = [_eliminate(r, pivot, col) for r in rows]
        rows = [r for r in rows if r]
        basis = [_eliminate(b, pivot, col) for b in basis]
        basis.append(pivot)
    return basis


def _eliminate(row: dict[int, Fraction], pivot: dict[int, Fraction], col: int):
    factor = row.get(col)
    if not factor:
        return row
    out = dict(row)
    for c, v in pivot.items():
        out[c] = out.get(c, Fraction(0)) - factor * v
    return {c: v for c, v in out.items() if v}


def exposed(relations, unknown: set[Hashable]) -> set[Hashable]:
    """The unknown cells that the relations determine once every other cell is known."""
    columns = sorted(unknown, key=repr)
    index = {c: i for i, c in enumerate(columns)}
    rows = []
    for total, parts in relations:
        row: dict[int, Fraction] = {}
        for cell, sign in ((total, 1), *((p, -1) for p in parts)):
            if cell in index:
                row[index[cell]] = row.get(index[cell], Fraction(0)) + sign
        rows.append({c: v for c, v in row.items() if v})
    return {columns[next(iter(b))] for b in _rref(rows, len(columns)) if len(b) == 1}
