"""An image of a section body (`/images/<id>.<ext>`), served by leadgate itself.

The address is unguessable and never changes (a new upload is a new image), so browsers
and shared caches keep it for good. The Content-Type is the one of the format the image
was decoded and written as (forms_app/images.py), never guessed from a name, and with
`nosniff` a browser never reads it as anything else.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods

from forms_app.models import SectionImage
from forms_app.services.images import section_image_url

MAX_AGE_S = 365 * 24 * 3600


def _not_found() -> HttpResponse:
    return HttpResponse("Not found", status=404, content_type="text/plain")


@require_http_methods(["GET", "HEAD"])
def section_image(request: HttpRequest, image_id: str, extension: str) -> HttpResponseBase:
    image = SectionImage.objects.filter(pk=image_id).first()
    # One address per image: another extension is not another way to the same bytes.
    if image is None or section_image_url(image) != f"/images/{image_id}.{extension}":
        return _not_found()
    try:
        handle = default_storage.open(image.image, "rb")
    except (FileNotFoundError, OSError):
        return _not_found()
    response = FileResponse(
        handle, content_type=image.content_type, filename=f"{image_id}.{extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, public=True, max_age=MAX_AGE_S, immutable=True)
    return response
