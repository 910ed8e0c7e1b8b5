"""The benchmark runner (bench/run.py): several benchmarks (or none named: all of them)
run one after the other, each in a process of its own, so nothing one leaves set in its
process (settings loaded with its queue names, a connection pointed at its database)
decides where the next one's work goes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from bench import run


class Recorder:
    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.commands: list[list[str]] = []
        self.failing = failing

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        code = 1 if command[3] in self.failing else 0
        return subprocess.CompletedProcess(command, code)


def test_several_benchmarks_run_each_in_a_process_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(run.subprocess, "run", recorder)
    assert run.main(["scoring", "delivery", "--quick"]) == 0
    assert recorder.commands == [
        [sys.executable, "-m", "bench.run", "scoring", "--quick"],
        [sys.executable, "-m", "bench.run", "delivery", "--quick"],
    ]


def test_no_name_runs_every_benchmark_and_a_failure_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder(failing=frozenset({"scoring"}))
    monkeypatch.setattr(run.subprocess, "run", recorder)
    assert run.main([]) == 1
    assert [c[3] for c in recorder.commands] == run.available()
    assert {"delivery", "ingest", "scoring"} <= set(run.available())
    assert "benchmarks FAILED: scoring" in capsys.readouterr().err
