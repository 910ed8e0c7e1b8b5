"""Images for section bodies: uploaded through the marketer API, decoded and written again
(forms_app/images.py), served by leadgate with the decoded format's Content-Type, and
accepted in a body by the sanitiser as leadgate's own."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from config.roles import SALES
from forms_app.images import MAX_PIXELS, NOT_AN_IMAGE, TOO_MANY_PIXELS
from forms_app.models import Gate, SectionImage
from forms_app.section_body import body_html, body_problems
from tests.support.api import assert_error
from tests.support.factories import add_role, make_gate, make_marketer, make_user

pytestmark = pytest.mark.django_db


def _image(fmt: str, size: tuple[int, int] = (40, 30), **save: Any) -> bytes:
    out = io.BytesIO()
    mode = "1" if size[0] * size[1] > 1_000_000 else "RGB"
    Image.new(mode, size, 1 if mode == "1" else (200, 40, 10)).save(out, format=fmt, **save)
    return out.getvalue()


@pytest.fixture
def marketer_client() -> Client:
    return Client(headers=make_marketer().auth_header)


def _upload(client: Client, gate: Gate, data: bytes, name: str = "photo.png", **fields: str) -> Any:
    return client.post(
        f"/api/v1/gates/{gate.slug}/images",
        {"file": SimpleUploadedFile(name, data, content_type="image/png"), **fields},
    )


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("PNG", "image/png", "png"),
        ("JPEG", "image/jpeg", "jpg"),
        ("WEBP", "image/webp", "webp"),
        ("GIF", "image/gif", "gif"),
    ],
)
def test_an_uploaded_image_is_served_by_leadgate_as_its_decoded_format(
    marketer_client: Client, fmt: str, content_type: str, extension: str
) -> None:
    gate = make_gate()
    # Named and declared as a PNG whatever it is: the decoded format decides.
    response = _upload(marketer_client, gate, _image(fmt), alt="The fibre [ring]\nmap")
    assert response.status_code == 201, response.content
    body = response.json()
    image = SectionImage.objects.get(gate=gate)
    assert body["url"] == f"/images/{image.pk}.{extension}"
    assert body["content_type"] == content_type
    assert (body["width"], body["height"]) == (40, 30)
    assert body["markdown"] == f"![The fibre (ring) map]({body['url']})"

    served = Client().get(body["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == content_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in served["Cache-Control"]
    assert "public" in served["Cache-Control"]
    data = served.getvalue()
    assert len(data) == body["size"]
    assert Image.open(io.BytesIO(data)).format == fmt
    # Another extension is not another address for the same image.
    other = "gif" if extension != "gif" else "png"
    assert Client().get(f"/images/{image.pk}.{other}").status_code == 404


def test_the_markdown_it_answers_is_a_valid_section_body(marketer_client: Client) -> None:
    gate = make_gate()
    markdown = _upload(marketer_client, gate, _image("PNG"), alt="Coverage map").json()["markdown"]
    assert body_problems(markdown) == []
    html = body_html(markdown)
    image = SectionImage.objects.get(gate=gate)
    assert f'src="/images/{image.pk}.png"' in html
    assert 'alt="Coverage map"' in html


def test_what_rode_along_is_not_kept(marketer_client: Client) -> None:
    gate = make_gate()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: applied, then dropped with the rest
    exif[0x010F] = "SecretCam"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # a GPS position
    photo = _image("JPEG", exif=exif.tobytes())
    assert b"SecretCam" in photo
    body = _upload(marketer_client, gate, photo, name="me.jpg").json()
    assert (body["width"], body["height"]) == (30, 40)
    stored = default_storage.open(SectionImage.objects.get(gate=gate).image).read()
    assert b"SecretCam" not in stored
    assert dict(Image.open(io.BytesIO(stored)).getexif()) == {}
    # Bytes after a PNG (a polyglot another parser would read as HTML) are not kept.
    polyglot = _image("PNG") + b"<script>alert(1)</script>"
    body = _upload(marketer_client, gate, polyglot).json()
    served = Client().get(body["url"]).getvalue()
    assert b"<script>" not in served


def test_an_animation_keeps_its_frames(marketer_client: Client) -> None:
    gate = make_gate()
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    body = _upload(marketer_client, gate, out.getvalue(), name="spin.gif").json()
    served = Client().get(body["url"]).getvalue()
    assert getattr(Image.open(io.BytesIO(served)), "n_frames", 1) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><script>alert(1)</script></html>", NOT_AN_IMAGE),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, NOT_AN_IMAGE),  # a PNG signature, then nothing
        (_image("PNG", (200, 200))[:-40], NOT_AN_IMAGE),  # truncated
        (_image("BMP"), NOT_AN_IMAGE),
        (_image("TIFF"), NOT_AN_IMAGE),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            NOT_AN_IMAGE,
        ),
        # A small file claiming a huge canvas (a decompression bomb): refused unread.
        (_image("PNG", (8000, 6000)), TOO_MANY_PIXELS),
    ],
)
def test_what_is_not_an_image_is_a_400_saying_so(
    marketer_client: Client, data: bytes, message: str
) -> None:
    gate = make_gate()
    errors = assert_error(_upload(marketer_client, gate, data), 400, "file")
    assert errors["file"] == [message]
    assert not SectionImage.objects.exists()
    assert MAX_PIXELS < 8000 * 6000


def test_too_large_a_file_is_a_413(marketer_client: Client, settings: Any) -> None:
    settings.LEADGATE_IMAGE_MAX_BYTES = 1000
    gate = make_gate()
    big = _image("PNG", (300, 300), compress_level=0)
    assert len(big) > 1000
    errors = assert_error(_upload(marketer_client, gate, big), 413, "file")
    assert errors["file"][0].startswith("This image is larger than 0.000953674 MB")
    assert not SectionImage.objects.exists()


def test_a_missing_file_or_gate(marketer_client: Client) -> None:
    gate = make_gate()
    assert_error(marketer_client.post(f"/api/v1/gates/{gate.slug}/images", {}), 400, "file")
    missing = _upload(marketer_client, Gate(slug="no-such-gate"), _image("PNG"))
    assert_error(missing, 404)


def test_only_marketers_upload() -> None:
    gate = make_gate()
    sales = add_role(make_user(is_staff=False), SALES)
    client = Client()
    client.force_login(sales)
    assert _upload(client, gate, _image("PNG")).status_code == 403
    assert _upload(Client(), gate, _image("PNG")).status_code == 401
    assert not SectionImage.objects.exists()


def test_unknown_images_are_404(client: Client) -> None:
    assert client.get("/images/00000000-0000-4000-8000-000000000000.png").status_code == 404
    assert client.get("/images/not-an-id.png").status_code == 404


def test_deleting_the_gate_deletes_its_images(
    marketer_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    gate = make_gate()
    _upload(marketer_client, gate, _image("PNG"))
    name = SectionImage.objects.get(gate=gate).image
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        gate.delete()
    assert not SectionImage.objects.exists()
    assert not default_storage.exists(name)
