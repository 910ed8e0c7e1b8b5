"""The builder's formset rows as posted: the rows the marketer kept, in their order (each
row's hidden ORDER), and a move button's re-numbering without JavaScript."""

from __future__ import annotations

from django import forms
from django.http import QueryDict


def _rows(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The rows the marketer kept (not deleted, not left blank), in their order."""
    rows = [
        f
        for f in formset.forms
        if f.has_changed() and not (formset.can_delete and f.cleaned_data.get("DELETE"))
    ]
    if formset.can_order:
        # Moved rows carry their place in ORDER; a new row without one goes last.
        rows.sort(key=lambda f: (f.cleaned_data.get("ORDER") is None, f.cleaned_data.get("ORDER")))
    return rows


def _row_order(value: str | None, index: int) -> tuple[int, int]:
    try:
        return (int(value or ""), index)
    except ValueError:
        return (1_000_000, index)


def _moved(data: QueryDict, prefix: str, index: int, step: int, limit: int) -> QueryDict:
    """The POST with row `index` of formset `prefix` moved one place (step -1 or +1):
    the rows re-numbered in their new order, so the page shows them so (the builder's
    move buttons without JavaScript)."""
    total = min(int(data.get(f"{prefix}-TOTAL_FORMS") or 0), limit)
    rows = []
    for i in range(total):
        head = f"{prefix}-{i}-"
        rows.append({k[len(head) :]: data.getlist(k) for k in data if k.startswith(head)})
    order = sorted(range(total), key=lambda i: _row_order(data.get(f"{prefix}-{i}-ORDER"), i))
    if index in order:
        at = order.index(index)
        to = at + step
        if 0 <= to < total:
            order[at], order[to] = order[to], order[at]
    moved = data.copy()
    for key in list(moved):
        if key.startswith(f"{prefix}-") and key[len(prefix) + 1 : len(prefix) + 2].isdigit():
            del moved[key]
    for new, old in enumerate(order):
        for name, values in rows[old].items():
            moved.setlist(f"{prefix}-{new}-{name}", values)
        moved[f"{prefix}-{new}-ORDER"] = str(new + 1)
    return moved


def _move_request(data: QueryDict) -> tuple[int, int] | None:
    """("sections-3-up") -> (3, -1): which section row a move button asked to move."""
    parts = str(data.get("move", "")).split("-")
    if len(parts) != 3 or parts[0] != "sections" or not parts[1].isdigit():
        return None
    if parts[2] not in ("up", "down"):
        return None
    return int(parts[1]), -1 if parts[2] == "up" else 1


def _draft_rows(data: QueryDict, prefix: str, limit: int) -> list[tuple[int, dict[str, str]]]:
    """A formset's rows as typed (kept, not blank), in their order, valid or not."""
    try:
        total = min(int(data.get(f"{prefix}-TOTAL_FORMS") or 0), limit)
    except ValueError:
        total = 0
    rows = []
    for i in range(total):
        head = f"{prefix}-{i}-"
        if data.get(head + "DELETE"):
            continue
        row = {k[len(head) :]: str(v) for k, v in data.items() if k.startswith(head)}
        if not any(v.strip() for k, v in row.items() if k != "ORDER"):
            continue
        rows.append((i, row))
    rows.sort(key=lambda r: _row_order(r[1].get("ORDER"), r[0]))
    return rows
