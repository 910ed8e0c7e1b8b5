"""config/framing.py: a gate's allowed origins as frame-ancestors sources."""

from __future__ import annotations

from django.http import HttpResponse

from config.framing import frame_ancestors_allow, frame_ancestors_sources


def test_well_formed_origins_are_normalised_and_kept_once() -> None:
    assert frame_ancestors_sources(
        [
            "https://WWW.Example.com/",
            "https://www.example.com",
            "http://localhost:8080",
            "http://[::1]:8000",
            "https://xn--bcher-kva.example",
        ]
    ) == [
        "https://www.example.com",
        "http://localhost:8080",
        "http://[::1]:8000",
        "https://xn--bcher-kva.example",
    ]


def test_anything_else_is_left_out_and_nothing_left_means_no_one() -> None:
    hostile = [
        "https://a.example; script-src *",
        "https://a.example 'unsafe-inline'",
        "https://a.example/path",
        "https://a.example:99999999",
        "*",
        "https://*.example",
        "'self'",
        "data:",
        "ftp://a.example",
        "",
        None,
        42,
    ]
    assert frame_ancestors_sources(hostile) == ["'none'"]  # type: ignore[arg-type]
    assert frame_ancestors_sources([]) == ["'none'"]


def test_allow_replaces_only_frame_ancestors_and_keeps_other_replacements() -> None:
    response = HttpResponse()
    response._csp_replace = {"img-src": ["'self'"]}  # type: ignore[attr-defined]
    frame_ancestors_allow(response, ["https://a.example"])
    assert response._csp_replace == {  # type: ignore[attr-defined]
        "img-src": ["'self'"],
        "frame-ancestors": ["https://a.example"],
    }
