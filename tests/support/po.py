"""A small reader of gettext .po files (enough for the catalogs makemessages writes)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str = ""
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def po_entries(path: Path) -> list[PoEntry]:
    """Every entry of the catalog, the header (msgid "") included."""
    entries: list[PoEntry] = []
    entry = PoEntry()
    target: tuple[str, int] | None = None
    started = False

    def flush() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = PoEntry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            if started:
                flush()
            entry.flags.update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            text = ast.literal_eval(line)
        elif keyword == "msgid":
            if started and target is not None and target[0] == "msgstr":
                flush()
            started = True
            target, text = ("msgid", 0), ast.literal_eval(rest)
            entry.msgid = ""
        elif keyword == "msgid_plural":
            target, text = ("msgid_plural", 0), ast.literal_eval(rest)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            target, text = ("msgstr", index), ast.literal_eval(rest)
            entry.msgstr[index] = ""
        else:
            raise ValueError(f"{path}: cannot read {raw!r}")
        assert target is not None
        if target[0] == "msgid":
            entry.msgid += text
        elif target[0] == "msgid_plural":
            entry.msgid_plural += text
        else:
            entry.msgstr[target[1]] += text
    flush()
    return entries
