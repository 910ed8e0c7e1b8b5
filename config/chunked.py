"""Request bodies sent with `Transfer-Encoding: chunked`, which declare no Content-Length.

Django sizes a WSGI request's body by CONTENT_LENGTH alone (PEP 3333 lets an application
read no further), so a chunked request reads as empty: a Segment client's batch was
refused as "not valid JSON", and Segment clients do not retry a 400. gunicorn, the
production server, de-chunks `wsgi.input` itself and sets `wsgi.input_terminated`: the
WSGI servers' promise that reading the input to its end is safe and ends. With that
promise, these read such a body to its end, never more than a cap plus one byte, so the
endpoints judge it exactly as if its length had been declared (and refuse it on the same
limits). Without it (runserver's wsgiref, which does not support chunked requests) a
request is left as it was.
"""

from __future__ import annotations

import io
from typing import Any


def chunked_body_read(environ: dict[str, Any], limit: int) -> bytes | None:
    """The body of a chunked request whose server terminated `wsgi.input`, read to its
    end but never past `limit + 1` bytes (so a longer one is seen as longer than the cap
    and the rest is left to the server, which discards it). None for any other request.
    """
    if not environ.get("wsgi.input_terminated"):
        return None
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    stream = environ["wsgi.input"]
    wanted = limit + 1
    parts: list[bytes] = []
    while wanted > 0:
        # read(n) may answer fewer bytes than asked before the end: ask again.
        part = stream.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def environ_sized(environ: dict[str, Any], limit: int) -> None:
    """Give a chunked request the Content-Length of its body, read into memory (at most
    `limit + 1` bytes), so Django, DRF and the endpoints read it like any other.

    A body longer than `limit` is declared as its first `limit + 1` bytes: every reader
    then refuses it on its own size limit without anything more being read.
    """
    body = chunked_body_read(environ, limit)
    if body is None:
        return
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)
