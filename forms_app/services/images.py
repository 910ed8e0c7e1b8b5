"""Images uploaded for section bodies: checked and written again (forms_app/images.py),
stored in the default storage like the PDF uploads, one row each."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from forms_app.images import ImageRefused, image_clean
from forms_app.models import Gate, SectionImage

log = logging.getLogger(__name__)

IMAGE_PATH = "/images/"


def image_too_large_message() -> str:
    mb = settings.LEADGATE_IMAGE_MAX_BYTES / (1024 * 1024)
    return f"This image is larger than {mb:g} MB, the limit for images in sections."


def section_image_url(image: SectionImage) -> str:
    """Where leadgate serves it: a path on its own host (section_body.image_src_ok)."""
    extension = image.image.rsplit(".", 1)[-1]
    return f"{IMAGE_PATH}{image.pk}.{extension}"


def section_image_create(*, gate: Gate, data: bytes) -> SectionImage:
    """Store the image in `data` for the gate's section bodies. ImageRefused, with the
    marketer's message, for a file too large or not a PNG, JPEG, WebP or GIF image;
    nothing is stored then."""
    if len(data) > settings.LEADGATE_IMAGE_MAX_BYTES:
        raise ImageRefused(image_too_large_message())
    clean = image_clean(data)
    image_id = uuid.uuid4()
    name = default_storage.save(
        f"section-images/{gate.pk}/{image_id}.{clean.extension}", ContentFile(clean.data)
    )
    try:
        with transaction.atomic():
            return SectionImage.objects.create(
                id=image_id,
                gate=gate,
                image=name,
                content_type=clean.content_type,
                width=clean.width,
                height=clean.height,
                size=len(clean.data),
            )
    except Exception:
        default_storage.delete(name)  # no row names it: it must not stay behind
        raise


def section_image_file_forget(
    sender: type[SectionImage], instance: SectionImage, **kwargs: object
) -> None:
    """A deleted image row (its gate deleted) takes its file along, once the deletion
    commits (post_delete receiver, connected in FormsAppConfig)."""
    name = instance.image

    def delete() -> None:
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete the section image %s", name)

    if name:
        transaction.on_commit(delete)
