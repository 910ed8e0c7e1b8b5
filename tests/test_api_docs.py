"""/api/docs/ (config/api_docs.py): Redoc served by leadgate itself, nothing from another
host, so the reader works offline and behind a corporate proxy."""

from __future__ import annotations

from django.test import Client

from tests.support.csp import markup_of


def test_the_page_loads_only_leadgate_static_files() -> None:
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html
    assert "https://" not in html
    assert "//fonts." not in html
    markup = markup_of(html)
    assets = [u for u in markup.urls if u != "/api/schema/"]
    assert "/api/schema/" in markup.urls  # Redoc reads the schema from this same server
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in assets
    for url in assets:
        assert url.startswith("/static/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.getvalue(), url


def test_the_schema_it_reads_is_served_here() -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert b"leadgate API" in response.content
