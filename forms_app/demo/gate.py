"""The demo's gate, written through the same service as a marketer's (gate_save): the
e-book's sections and the network map read inline. Used by `manage.py demo` and by the
tests that audit the demo's pages."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from forms_app.demo import content as demo_content
from forms_app.models import Gate
from forms_app.services.gates import FileInput, SectionInput, gate_save


def demo_gate_create(*, allowed_origins: list[str], pdf: bytes | None = None) -> Gate:
    """Save the demo gate (its map rendered when the save commits); `pdf` is the map's
    bytes when the caller already made them."""
    return gate_save(
        data=dict(demo_content.GATE, allowed_origins=allowed_origins),
        sections=[
            SectionInput(key=s.key, title=s.title, body=s.body, topics=list(s.topics))
            for s in demo_content.SECTIONS
        ],
        files=[
            FileInput(
                key=demo_content.MAP_FILE_KEY,
                title=demo_content.MAP_FILE_TITLE,
                upload=SimpleUploadedFile(
                    demo_content.MAP_FILE_NAME,
                    pdf if pdf is not None else demo_content.network_map_pdf(),
                    content_type="application/pdf",
                ),
                read_inline=True,
            )
        ],
        fields=[],
    )
