"""The embed script's weight: static/leadgate.js raw and compressed, against its budget.

The budget is 6 KB gzipped for the whole embed (form + tracker), no dependencies.
The served file is built from the readable sources in assets/leadgate/ by
scripts/build-tracker.sh (esbuild, minified); their own size is shown beside it for scale.
collectstatic stores the served file with a gzip -9 and a brotli copy beside it (WhiteNoise's
compressed storage), which is what browsers download.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "static" / "leadgate.js"
SOURCES = ROOT / "assets" / "leadgate"
BUDGET_GZIP_BYTES = 6 * 1024


@dataclass(frozen=True)
class Sizes:
    raw: int
    gzip9: int
    gzip6: int
    brotli: int
    source_raw: int
    source_gzip9: int


def sizes(path: Path = SCRIPT) -> Sizes:
    data = path.read_bytes()
    source = b"".join(p.read_bytes() for p in sorted(SOURCES.glob("*.js")))
    return Sizes(
        raw=len(data),
        gzip9=len(gzip.compress(data, compresslevel=9, mtime=0)),
        gzip6=len(gzip.compress(data, compresslevel=6, mtime=0)),
        # Quality 11, brotli's default and what WhiteNoise's compressor uses.
        brotli=len(brotli.compress(data)),
        source_raw=len(source),
        source_gzip9=len(gzip.compress(source, compresslevel=9, mtime=0)),
    )


def run(quick: bool) -> str:
    s = sizes()
    kib = 1024

    def row(label: str, size: int, budget: bool = True) -> str:
        share = f"{size / BUDGET_GZIP_BYTES:.0%}" if budget else ""
        return f"| {label} | {size} | {size / kib:.2f} | {share} |"

    lines = [
        "## Embed script size (`static/leadgate.js`)",
        "",
        "Measured by `bench/embed_size.py` (`./scripts/bench.sh embed_size`): the file as "
        "served, built from `assets/leadgate/` by `scripts/build-tracker.sh` (esbuild, "
        "minified). Sizes do not depend on machine load, so this run is final.",
        "",
        "| measure | bytes | KiB | vs 6 KiB gzip budget |",
        "|---|---:|---:|---:|",
        row("raw (as built)", s.raw, budget=False),
        row("gzip -9 (collectstatic's `.gz`, served for `Accept-Encoding: gzip`)", s.gzip9),
        row("gzip -6 (a typical on-the-fly proxy)", s.gzip6),
        row("brotli (collectstatic's `.br`, served for `Accept-Encoding: br`)", s.brotli),
        row("for scale: the readable sources, gzip -9", s.source_gzip9, budget=False),
        "",
        "It includes the shadow-root form with its CSS, validation and error announcements, "
        "section dwell tracking, download tracking, the persisted retry queue and the "
        "GPC/DNT rules; no dependencies.",
    ]
    return "\n".join(lines)
