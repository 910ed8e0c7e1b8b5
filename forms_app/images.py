"""Images uploaded for section bodies: decoded, checked and re-encoded before storing.

An upload is whatever bytes a browser sent, named whatever it liked: only what Pillow
decodes as PNG, JPEG, WebP or GIF is kept, and only as Pillow writes it again. Writing
it again drops what rode along (EXIF with a camera's GPS position, comments, bytes after
the image that another parser would read as HTML or a script), and the stored format,
not the name or the declared type, decides the Content-Type it is served with.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name -> (Content-Type, file extension).
FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
EXTENSIONS = frozenset(ext for _type, ext in FORMATS.values())
# Far beyond any picture in a page, far below what decoding would take a worker's memory
# for: a small file can claim a huge canvas (a decompression bomb), refused unread.
MAX_PIXELS = 40_000_000
MAX_FRAMES = 300  # an animation longer than this is a video
JPEG_QUALITY = 88
WEBP_QUALITY = 85

NOT_AN_IMAGE = "This file is not a PNG, JPEG, WebP or GIF image."
TOO_MANY_PIXELS = f"This image is larger than {MAX_PIXELS // 1_000_000} megapixels."
TOO_MANY_FRAMES = f"This animation has more than {MAX_FRAMES} frames."


class ImageRefused(ValueError):
    """The upload is not an image leadgate keeps; the message says why, for the marketer."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, past its own pixel limit; ours is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageRefused(NOT_AN_IMAGE) from None
    return image


def image_clean(data: bytes) -> CleanImage:
    """The image in `data` decoded in full and written again in its own format;
    ImageRefused for anything else (not one of FORMATS, truncated, too big a canvas)."""
    image = _open(data)
    fmt = image.format or ""
    if fmt not in FORMATS:
        raise ImageRefused(NOT_AN_IMAGE)
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ImageRefused(TOO_MANY_PIXELS)
    frames = getattr(image, "n_frames", 1)
    if frames > MAX_FRAMES:
        raise ImageRefused(TOO_MANY_FRAMES)
    out = io.BytesIO()
    try:
        if frames > 1:
            # Every frame decoded (a truncated one is refused here), then written again.
            image.load()
            image.save(out, format=fmt, save_all=True, **_options(fmt, image))
        else:
            image.load()
            # The orientation a camera recorded, applied: its EXIF does not survive.
            upright = ImageOps.exif_transpose(image) if fmt in ("JPEG", "WEBP") else image
            if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            upright.save(out, format=fmt, **_options(fmt, upright))
            width, height = upright.size
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ImageRefused(NOT_AN_IMAGE) from None
    content_type, extension = FORMATS[fmt]
    return CleanImage(
        data=out.getvalue(),
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
    )


def _options(fmt: str, image: Image.Image) -> dict[str, object]:
    if fmt == "JPEG":
        return {"quality": JPEG_QUALITY, "optimize": True}
    if fmt == "WEBP":
        lossless = bool(image.info.get("lossless"))
        return {"lossless": True} if lossless else {"quality": WEBP_QUALITY}
    if fmt == "PNG":
        return {"optimize": True}
    return {}
