"""Checking uploads by their content: PDF, PNG and JPEG only; images are re-encoded."""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from PIL import Image, UnidentifiedImageError

# Far above any scanned letter or avatar, far below what would exhaust memory.
MAX_IMAGE_PIXELS = 40_000_000


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


def reencode_image(upload, *, allowed=("PNG", "JPEG"), max_side=None):
    """Decode and re-encode an image (metadata dropped); refuse bombs and other formats."""
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as probe:
                fmt = probe.format
                width, height = probe.size
                if fmt not in allowed:
                    raise ValidationError("Upload a PNG or JPEG image.", code="bad_type")
                if width * height > MAX_IMAGE_PIXELS:
                    raise ValidationError(
                        "This image has too many pixels to be processed safely.", code="too_many_pixels"
                    )
                probe.load()
                image = probe.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError("This image has too many pixels to be processed safely.", code="bomb") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError("This file is not a readable PNG or JPEG image.", code="bad_image") from exc
    if max_side:
        image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
        return out.getvalue(), "image/jpeg", "jpg"
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    image.save(out, "PNG", optimize=True)
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
    data, content_type, ext = reencode_image(upload, max_side=512)
    return CheckedFile(f"{_stem(upload.name)}.{ext}", content_type, ContentFile(data))
