"""Marketer API: an image for a gate's section bodies.

`POST /api/v1/gates/{slug}/images` (multipart: `file`, optional `alt`) decodes the image
at once and stores it written again (forms_app/images.py): a file that is not a PNG,
JPEG, WebP or GIF image is a 400, one over LEADGATE_IMAGE_MAX_BYTES a 413. The answer
gives the address leadgate serves it at and the Markdown to put in a section body.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import error_body
from config.openapi import errors
from config.roles import MarketerOnly
from forms_app.images import ImageRefused
from forms_app.selectors import gate_get
from forms_app.services.images import (
    image_too_large_message,
    section_image_create,
    section_image_url,
)

# Room for the multipart envelope and the other fields around the file itself.
MULTIPART_SLACK = 64 * 1024


class ImageUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A PNG, JPEG, WebP or GIF image (at most LEADGATE_IMAGE_MAX_BYTES, 5 MB "
        "by default)."
    )
    alt = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="What the image shows, for people who cannot see it (goes into `markdown`).",
    )


class ImageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField(help_text="The path leadgate serves the image at.")
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size = serializers.IntegerField(help_text="Bytes stored (the image as written again).")
    markdown = serializers.CharField(help_text="`![alt](url)`, to put in a section body.")


def _markdown_alt(alt: str) -> str:
    # Brackets and line breaks would end the image's description early.
    return " ".join(alt.replace("[", "(").replace("]", ")").split())


class GateImageApi(APIView):
    permission_classes = [MarketerOnly]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        responses={
            201: ImageSerializer,
            **errors(
                (400, "Not a PNG, JPEG, WebP or GIF image, or too large a canvas."),
                (404, "No gate with this slug."),
                (413, "The file is larger than LEADGATE_IMAGE_MAX_BYTES."),
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        gate = gate_get(slug=slug)
        if gate is None:
            raise NotFound("No gate with this slug.")
        limit = settings.LEADGATE_IMAGE_MAX_BYTES
        # Refused before the body is read: a 2 GB upload is not spooled to disk first.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > limit + MULTIPART_SLACK:
            return Response(error_body({"file": [image_too_large_message()]}), status=413)
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        if upload.size > limit:
            return Response(error_body({"file": [image_too_large_message()]}), status=413)
        try:
            image = section_image_create(gate=gate, data=upload.read())
        except ImageRefused as exc:
            return Response(error_body({"file": [str(exc)]}), status=400)
        url = section_image_url(image)
        alt = _markdown_alt(serializer.validated_data.get("alt", ""))
        data = {
            "id": image.pk,
            "url": url,
            "content_type": image.content_type,
            "width": image.width,
            "height": image.height,
            "size": image.size,
            "markdown": f"![{alt}]({url})",
        }
        return Response(ImageSerializer(data).data, status=201)
