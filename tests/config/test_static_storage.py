"""collectstatic's compressor keeps the brotli and gzip copies of an earlier run only while
they hold the file's current bytes (config/static_storage.py)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli
import pytest

from config.static_storage import _ReusingCompressor


@pytest.fixture
def brotli_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = _ReusingCompressor.compress_brotli

    def counting(data: bytes) -> bytes:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(_ReusingCompressor, "compress_brotli", staticmethod(counting))
    return calls


def _copies(path: Path) -> tuple[bytes, bytes]:
    return (
        brotli.decompress(Path(f"{path}.br").read_bytes()),
        gzip.decompress(Path(f"{path}.gz").read_bytes()),
    )


def test_copies_are_made_once_and_made_again_when_the_bytes_change(
    tmp_path: Path, brotli_calls: list[bytes]
) -> None:
    compressor = _ReusingCompressor(quiet=True)
    script = tmp_path / "leadgate.js"
    first = b"var tracker = 'first version';\n" * 50
    script.write_bytes(first)

    made = compressor.compress(str(script))
    assert sorted(made) == [f"{script}.br", f"{script}.gz"]
    assert _copies(script) == (first, first)
    assert len(brotli_calls) == 1

    # collectstatic again, nothing changed: the copies are kept.
    assert sorted(compressor.compress(str(script))) == sorted(made)
    assert len(brotli_calls) == 1

    # New bytes, even with the old modification time: new copies.
    stat = script.stat()
    second = b"var tracker = 'second version';\n" * 50
    script.write_bytes(second)
    os.utime(script, (stat.st_atime, stat.st_mtime))
    compressor.compress(str(script))
    assert len(brotli_calls) == 2
    assert _copies(script) == (second, second)

    # A gzip copy that no longer matches (or is damaged) is made again, with the brotli one.
    Path(f"{script}.gz").write_bytes(b"not gzip")
    compressor.compress(str(script))
    assert len(brotli_calls) == 3
    assert _copies(script) == (second, second)
