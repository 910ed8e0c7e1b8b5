"""Reading a Content-Security-Policy header and checking a page's HTML against it."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

HEADER = "Content-Security-Policy"


def policy_of(response: Any) -> dict[str, list[str]]:
    """The response's policy as {directive: [source, ...]}; fails if it has none."""
    header = response.headers.get(HEADER)
    assert header, f"no {HEADER} header on {getattr(response, 'request', {}).get('PATH_INFO')}"
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, f"{words[0]} twice in {header!r}"
            directives[words[0]] = words[1:]
    return directives


def nonce_of(policy: dict[str, list[str]], directive: str = "script-src") -> str | None:
    for source in policy.get(directive, []):
        if source.startswith("'nonce-") and source.endswith("'"):
            return source[len("'nonce-") : -1]
    return None


class PageMarkup(HTMLParser):
    """What in a page's HTML the CSP judges: scripts, handlers, styles, other hosts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline_scripts: list[dict[str, str | None]] = []
        self.script_nonces: list[str | None] = []
        self.handlers: list[str] = []
        self.style_attributes: list[str] = []
        self.style_elements = 0
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.script_nonces.append(found.get("nonce"))
            if not found.get("src"):
                self.inline_scripts.append(found)
        if tag == "style":
            self.style_elements += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name == "style":
                self.style_attributes.append(f"<{tag} style={value!r}>")
            # What the browser loads by itself (links and forms are navigations, and so
            # is a canonical link: it names the page's public address for crawlers and
            # loads nothing).
            fetched_link = tag == "link" and name == "href" and found.get("rel") != "canonical"
            loads = name == "src" or fetched_link or name == "data-spec-url"
            if loads and value:
                self.urls.append(value)


def markup_of(html: str) -> PageMarkup:
    markup = PageMarkup()
    markup.feed(html)
    markup.close()
    return markup
