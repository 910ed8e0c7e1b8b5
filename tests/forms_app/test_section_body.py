"""Section bodies: Markdown rendered once on save, sanitised, shown on the hosted page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from forms_app.models import Section
from forms_app.section_body import (
    ALLOWED_TAGS,
    body_html,
    body_problems,
    body_text,
    body_words,
)
from forms_app.services.gates import SectionInput, gate_save
from tests.support.factories import make_gate


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("## Costs\n\n- one\n- two", ["<h4>Costs</h4>", "<ul>", "<li>one</li>"]),
        ("*soft* and **hard**", ["<em>soft</em>", "<strong>hard</strong>"]),
        ("1. first\n2. second", ["<ol>", "<li>first</li>"]),
        (
            "[our site](https://brightline.example/a)",
            ['<a href="https://brightline.example/a" rel="noopener nofollow">our site</a>'],
        ),
        ("[mail us](mailto:hi@brightline.example)", ['href="mailto:hi@brightline.example"']),
        (
            "![The fibre ring](https://cdn.brightline.example/ring.png)",
            [
                'src="https://cdn.brightline.example/ring.png"',
                'alt="The fibre ring"',
                'loading="lazy"',
            ],
        ),
        ("![Map](/media/gate-images/map.png)", ['src="/media/gate-images/map.png"']),
        ("> quoted", ["<blockquote>"]),
    ],
)
def test_allowed_markup_is_kept(body: str, kept: list[str]) -> None:
    out = body_html(body)
    for fragment in kept:
        assert fragment in out, out


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<img src=x onerror=alert(1)>",
        '![x](https://a.example/i.png" onerror="alert(1))',
        "![pixel](data:image/png;base64,iVBORw0KGgo=)",
        "[pixel](data:text/html;base64,PHNjcmlwdD4=)",
        "![old](http://insecure.example/i.png)",
        "![other host](//evil.example/i.png)",
        "[vb](vbscript:msgbox(1))",
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        '<svg onload="alert(1)"></svg>',
    ],
)
def test_hostile_markup_is_stripped(body: str) -> None:
    for tag, attrs in elements(body_html(body)):
        assert tag in ALLOWED_TAGS, tag
        assert not any(name.startswith("on") for name in attrs), attrs
        href = attrs.get("href")
        if href is not None:
            assert href.split(":")[0].lower() in ("http", "https", "mailto"), href
        src = attrs.get("src")
        if src is not None:
            assert src.startswith("https://") or (src.startswith("/") and not src.startswith("//"))


def test_raw_html_comes_out_as_text() -> None:
    out = body_html("<script>alert(1)</script>")
    assert "<script" not in out
    assert "&lt;script&gt;" in out


def test_plain_text_bodies_keep_their_paragraphs_and_line_breaks() -> None:
    body = "First paragraph, line one.\nLine two.\n\nSecond paragraph & more <stuff>."
    out = body_html(body)
    assert out.count("<p>") == 2
    assert "line one.<br>" in out
    assert "&amp; more &lt;stuff&gt;" in out
    assert (
        body_text(body) == "First paragraph, line one. Line two. Second paragraph & more <stuff>."
    )


def test_words_count_the_text_not_the_markup() -> None:
    body = "## A title\n\nRead **these** [three words](https://a.example) ![an image](https://a.example/i.png)"
    # "A title" and "Read these three words": no markup, URL or image description.
    assert body_words(body) == 6
    assert body_words("") == 0


def test_images_need_a_description_and_an_https_address() -> None:
    assert body_problems("![](https://a.example/i.png)")
    assert body_problems("![ok](http://a.example/i.png)")
    assert body_problems("![ok](https://a.example/i.png)") == []


@pytest.mark.django_db
def test_saving_renders_once_and_refuses_undescribed_images() -> None:
    gate = make_gate(sections=0)
    gate_save(
        gate=gate,
        data={},
        sections=[SectionInput(key="intro", title="Intro", body="Hello **there**")],
    )
    assert Section.objects.get(gate=gate).body_html == "<p>Hello <strong>there</strong></p>\n"
    with pytest.raises(ValidationError) as caught:
        gate_save(
            gate=gate,
            data={},
            sections=[
                SectionInput(key="intro", title="Intro", body="![](https://a.example/i.png)")
            ],
        )
    assert "sections.0.body" in caught.value.message_dict


@pytest.mark.django_db
def test_the_hosted_page_shows_the_sanitised_html(client: Client) -> None:
    gate = make_gate(sections=0, stage="epiphany")
    gate_save(
        gate=gate,
        data={},
        sections=[
            SectionInput(
                key="intro",
                title="Intro",
                body="## Why\n\nRead *this*.\n\n<script>alert(1)</script>\n\n"
                "![The ring](https://cdn.example/ring.png)",
            )
        ],
    )
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert "<h4>Why</h4>" in html
    assert "<em>this</em>" in html
    assert '<img src="https://cdn.example/ring.png" alt="The ring" loading="lazy">' in html
    assert "<script>alert(1)" not in html


@pytest.mark.django_db
def test_a_body_not_rendered_yet_still_shows_as_text(client: Client) -> None:
    gate = make_gate(sections=0, stage="epiphany")
    Section.objects.create(gate=gate, key="old", title="Old", body="Line one\nLine two")
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert "Line one<br>Line two" in html
