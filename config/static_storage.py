"""collectstatic's storage (STORAGES["staticfiles"]): WhiteNoise's
CompressedManifestStaticFilesStorage, which writes each file under its own name and under a
content-hashed one (what `{% static %}` links: config/static_headers.py), with a brotli
(.br) and a gzip (.gz) copy beside each, served by the request's Accept-Encoding.

Compressing is most of collectstatic's time (brotli's best quality on the API docs' 1 MB
reader alone takes seconds), and demo.sh runs collectstatic on every start: copies that an
earlier run made of the very same bytes are kept, not made again. Decompressing to compare
is cheap; Django rewrites every hashed CSS and JS file on each run, so file times cannot
tell.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable

import brotli
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _holds(copy: str, data: bytes, decompress: Callable[[bytes], bytes]) -> bool:
    try:
        with open(copy, "rb") as f:
            return decompress(f.read()) == data
    except Exception:  # missing, truncated or not this format: make it again
        return False


class _ReusingCompressor(Compressor):
    def compress(self, path: str) -> list[str]:
        with open(path, "rb") as f:
            data = f.read()
        brotli_copy, gzip_copy = path + ".br", path + ".gz"
        if (
            self.use_brotli
            and _holds(brotli_copy, data, brotli.decompress)
            and (not self.use_gzip or _holds(gzip_copy, data, gzip.decompress))
        ):
            kept = [brotli_copy, gzip_copy] if self.use_gzip else [brotli_copy]
            stat = os.stat(path)
            for copy in kept:  # as WhiteNoise dates the copies it writes
                os.utime(copy, (stat.st_atime, stat.st_mtime))
            return kept
        return list(super().compress(path))


class CompressedManifestStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs: object) -> Compressor:
        return _ReusingCompressor(**kwargs)
