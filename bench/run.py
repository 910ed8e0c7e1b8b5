"""Run leadgate's benchmarks and write their latest results to docs/benchmarks.md.

Each benchmark is a module `bench/<name>.py` with a `run(quick: bool) -> str` returning a
Markdown section (results with the ratio against a baseline measured in the same run).
This runner prints each section and replaces that benchmark's block in
docs/benchmarks.md, between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->`, so
benchmarks can be run one at a time without losing the others' latest results.

    python -m bench.run                # all benchmarks
    python -m bench.run ingest         # only bench/ingest.py
    python -m bench.run --quick        # small sizes (a smoke run; results not written)

With more than one benchmark, each runs in a process of its own (this runner again, with
its one name): a benchmark sets up Django for itself (its own database, its own Celery
queue names read from the environment when the settings load), and state left in one
process by the benchmark before (a connection pointed at another database, settings
already loaded with another queue) must not decide where the next one's work goes.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Run them all with `./scripts/bench.sh` (one benchmark: `./scripts/bench.sh NAME`). Each
measures its baseline in the same run and reports ratios, so results compare across
machines. Every section below is rewritten by its benchmark's latest run.
"""


def available() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name not in {"run", "common"} and not m.name.startswith("_")
    )


def write_section(name: str, body: str) -> None:
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- bench:{name} -->\n{body.strip()}\n\n"
        f"_Last run: {stamp} on {platform.node() or 'this machine'} "
        f"({platform.machine()}, Python {platform.python_version()})._\n<!-- /bench:{name} -->"
    )
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default all: {', '.join(available())})"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes; do not write docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}"
        )
    if len(names) > 1:
        return _each_in_its_own_process(names, quick=args.quick)
    failed = []
    for name in names:
        print(f"\n=== bench {name} {'(quick)' if args.quick else ''}", flush=True)
        started = time.monotonic()
        try:
            section = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception as exc:  # report and go on with the others
            print(f"bench {name} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(section)
        print(f"--- {name} took {time.monotonic() - started:.1f} s")
        if not args.quick:
            write_section(name, section)
    if not args.quick and not failed:
        print(f"\nresults written to {DOC.relative_to(ROOT)}")
    return 1 if failed else 0


def _each_in_its_own_process(names: list[str], *, quick: bool) -> int:
    """Run each benchmark as `python -m bench.run NAME` in turn; 1 if any failed."""
    failed = []
    for name in names:
        command = [sys.executable, "-m", "bench.run", name, *(["--quick"] if quick else [])]
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
