"""Checking uploads by their content: PDF, PNG and JPEG only; images are re-encoded."""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from PIL import Image, ImageOps, UnidentifiedImageError

# Far above any scanned letter (A4 at 600 dpi is 35 million), far below what would exhaust memory.
MAX_IMAGE_PIXELS = 40_000_000
# An avatar is shown at most 512 px wide: a PNG is decoded in full, so it may be smaller than a
# letter's scan; a JPEG is decoded at a reduced scale (Pillow's draft mode), so the letter's cap holds.
MAX_AVATAR_PNG_PIXELS = 16_000_000


@dataclass
class CheckedFile:
    name: str
    content_type: str
    file: ContentFile


def _check_size(upload):
    if upload.size > settings.MAX_UPLOAD_SIZE:
        raise ValidationError(
            f"This file is {filesizeformat(upload.size)}; "
            f"the limit is {filesizeformat(settings.MAX_UPLOAD_SIZE)}.",
            code="too_large",
        )


def _stem(name):
    stem = (name or "file").rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-")
    return cleaned[:80] or "file"


def reencode_image(upload, *, allowed=("PNG", "JPEG"), max_side=None, max_png_pixels=MAX_IMAGE_PIXELS):
    """Decode and re-encode an image (metadata dropped); refuse bombs and other formats. With
    ``max_side``, the result fits in that square (a JPEG decoded at the smallest scale that still
    covers it)."""
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                # A phone's multi-picture JPEG (MPO) is a JPEG; its first picture is the photo.
                fmt = "JPEG" if image.format == "MPO" else image.format
                width, height = image.size
                if fmt not in allowed:
                    raise ValidationError("Upload a PNG or JPEG image.", code="bad_type")
                limit = MAX_IMAGE_PIXELS if fmt == "JPEG" else min(max_png_pixels, MAX_IMAGE_PIXELS)
                if width * height > limit:
                    raise ValidationError(
                        f"This image is {width:,} × {height:,} pixels, more than can be processed "
                        f"safely ({limit // 1_000_000} million). Save a smaller copy and upload that.",
                        code="too_many_pixels",
                    )
                if fmt == "JPEG" and max_side:
                    image.draft("RGB", (max_side, max_side))
                image.load()
                return _encode(image, fmt, max_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError("This image has too many pixels to be processed safely.", code="bomb") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError("This file is not a readable PNG or JPEG image.", code="bad_image") from exc


def _encode(image, fmt, max_side):
    # Turned as the camera's orientation tag says: the tag goes with the rest of the metadata.
    image = ImageOps.exif_transpose(image)
    if max_side:
        image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
        return out.getvalue(), "image/jpeg", "jpg"
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    image.save(out, "PNG")  # zlib's default level: "optimize" took seconds on a large scan
    return out.getvalue(), "image/png", "png"


def check_letter(upload):
    """An authorisation letter: a real PDF, PNG or JPEG of at most MAX_UPLOAD_SIZE."""
    _check_size(upload)
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    stem = _stem(upload.name)
    if head.startswith(b"%PDF-"):
        data = upload.read()
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(
                "This PDF is incomplete or damaged. Save it again and retry.", code="bad_pdf"
            )
        return CheckedFile(f"{stem}.pdf", "application/pdf", ContentFile(data))
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        data, content_type, ext = reencode_image(upload)
        return CheckedFile(f"{stem}.{ext}", content_type, ContentFile(data))
    raise ValidationError(
        "Upload the letter as a PDF, PNG or JPEG file. This file is none of those, whatever its name says.",
        code="bad_type",
    )


def check_avatar(upload):
    _check_size(upload)
    data, content_type, ext = reencode_image(upload, max_side=512, max_png_pixels=MAX_AVATAR_PNG_PIXELS)
    return CheckedFile(f"{_stem(upload.name)}.{ext}", content_type, ContentFile(data))
