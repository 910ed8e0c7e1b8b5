"""Section bodies: Markdown written by a marketer, shown to visitors as sanitised HTML.

markdown-it-py parses (CommonMark, raw HTML off: it comes out as text), nh3 cleans what
it made against an allow-list, so nothing a marketer (or a stolen marketer session) types
can run in a visitor's browser: no script, no event attribute, no javascript: or data:
URL. Rendered once when a section is saved (Section.body_html); the visitor page only
prints it.

Plain text is valid Markdown: with `breaks` a single newline stays a line break and a
blank line starts a paragraph, as the page's old `linebreaks` filter showed them.
"""

from __future__ import annotations

import html
from functools import lru_cache
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "em",
        "strong",
        "a",
        "img",
        "blockquote",
        "code",
        "pre",
        "hr",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# The section's title is the page's h2: a body's "#" is the level below it.
HEADING_SHIFT = 2
IMAGE_NEEDS_ALT = "Describe each image for people who cannot see it: ![what it shows](https://…)."
IMAGE_NEEDS_HTTPS = (
    "Images must be https:// addresses (or images served by leadgate): "
    "a page served over https shows no other."
)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "breaks": True, "typographer": False})


def image_src_ok(src: str) -> bool:
    """https images, or leadgate's own (a path on this host, never //other-host)."""
    if src.startswith("/"):
        return not src.startswith("//")
    return urlsplit(src).scheme.lower() == "https"


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if image_src_ok(value) else None
    return value


def _shift_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + HEADING_SHIFT, 6)
            token.tag = f"h{level}"


def body_html(body: str) -> str:
    """The sanitised HTML of a Markdown body ("" for an empty one)."""
    if not body.strip():
        return ""
    md = _parser()
    tokens = md.parse(body)
    _shift_headings(tokens)
    raw = md.renderer.render(tokens, md.options, {})
    return nh3.clean(
        raw,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener nofollow",
        attribute_filter=_attribute_filter,
        set_tag_attribute_values={"img": {"loading": "lazy"}},
        strip_comments=True,
    )


def body_text(body: str) -> str:
    """What a reader reads (words, not markup): for word counts and reading times."""
    rendered = body_html(body)
    if not rendered:
        return ""
    return " ".join(html.unescape(nh3.clean(rendered, tags=set())).split())


def body_words(body: str) -> int:
    return len(body_text(body).split())


def body_problems(body: str) -> list[str]:
    """What the marketer must fix before the body is saved: images without a description
    or from an address a visitor's browser would not load. Each problem once."""
    problems: list[str] = []
    for token in _parser().parse(body):
        for child in token.children or []:
            if child.type != "image":
                continue
            if not child.content.strip() and IMAGE_NEEDS_ALT not in problems:
                problems.append(IMAGE_NEEDS_ALT)
            src = str(child.attrGet("src") or "")
            if not image_src_ok(src) and IMAGE_NEEDS_HTTPS not in problems:
                problems.append(IMAGE_NEEDS_HTTPS)
    return problems
