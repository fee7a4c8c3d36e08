"""Preview links and serving them with HTTP Range support.

How previews are protected (the agreement forbids automated bulk access):

* A preview is only reachable through a **signed, expiring URL**
  ``/previews/<version id>/<expires>/<signature>.mp3``. The signature is an HMAC of the
  version id and expiry made with the site's secret key; a changed id or expiry, or an
  expired link, answers 403. Expiry is rounded up to the hour so the same page gives the
  same URL for a while (browsers cache and seek within it) and lives between
  ``CATALOG_PREVIEW_URL_MAX_AGE`` and that plus one hour.
* Preview files are stored under random names; the storage URL is never put in a page,
  so there is no stable address to hot-link. Referer/Origin are not relied on.
* The view is rate-limited per IP (``CATALOG_PREVIEW_RATE``) and answers 429 with
  Retry-After beyond it.
* Only the 128 kbps MP3 preview is ever served here — never the master.
"""

import functools
import re
import time

from django.conf import settings
from django.core.signing import Signer
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import get_script_prefix, reverse
from django.utils.crypto import constant_time_compare

SALT = "catalog.preview"
# ASCII digits, at most 18 (a larger number is no byte of a preview): an odd header is ignored.
RANGE_RE = re.compile(r"^bytes=([0-9]{0,18})-([0-9]{0,18})$")
CHUNK = 64 * 1024


def _signature(version_id, expires):
    return Signer(salt=SALT).signature(f"{version_id}:{expires}")


def preview_expiry(now=None):
    now = int(now if now is not None else time.time())
    earliest = now + settings.CATALOG_PREVIEW_URL_MAX_AGE
    return (earliest // 3600 + 1) * 3600


def preview_url(version_id, *, expires=None):
    """A signed URL for one version's preview."""
    return preview_url_maker(expires=expires)(version_id)


def preview_url_maker(*, expires=None):
    """``preview_url`` for the many versions of one page: the expiry, the URL pattern and the key
    are read once, and each call only signs (see ``_issued_signature``) and fills in the pattern."""
    expires = int(expires or preview_expiry())
    pattern = _url_pattern(get_script_prefix())
    secret_key = settings.SECRET_KEY

    def url(version_id):
        version_id = int(version_id)
        signature = _issued_signature(version_id, expires, secret_key)
        return pattern.format(version_id=version_id, expires=expires, signature=signature)

    return url


@functools.lru_cache(maxsize=8192)
def _issued_signature(version_id, expires, _secret_key):
    """Signatures this process has put in pages. Expiry moves once an hour, so a popular track's
    link is signed once an hour rather than on every page (an HMAC and a Signer each time). The
    key is part of the cache key: a rotated SECRET_KEY signs afresh. Checking a signature never
    reads this cache (``check_signature``)."""
    return _signature(version_id, expires)


_MARKS = {"version_id": 1357924680, "expires": 2468013579, "signature": "SIGNATUREMARK"}


@functools.lru_cache(maxsize=16)
def _url_pattern(prefix):
    """The preview URL as a format string, reversed once per script prefix (a page links 24–48
    previews; the parts are an int, an int and URL-safe base64, which reverse() leaves as they are)."""
    url = reverse("catalog:preview", kwargs=_MARKS).replace("{", "{{").replace("}", "}}")
    for name, mark in _MARKS.items():
        url = url.replace(str(mark), "{" + name + "}")
    return url


def check_signature(version_id, expires, signature, now=None):
    """'ok', 'expired' or 'invalid'."""
    if not constant_time_compare(signature, _signature(version_id, expires)):
        return "invalid"
    if expires < (now if now is not None else time.time()):
        return "expired"
    return "ok"


def parse_range(header, size):
    """The (start, end) inclusive byte range a Range header asks for, None for the whole file,
    or ``False`` when it cannot be satisfied. Only single ranges are honoured."""
    if not header:
        return None
    match = RANGE_RE.match(header.strip())
    if not match or size == 0:
        return None if not match else False
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


class FileRange:
    """Iterates ``length`` bytes of a stored file from ``start``. The file is opened on the first
    read and closed at the end or by ``close()`` (which Django calls when the response ends)."""

    def __init__(self, storage, name, start, length):
        self.storage, self.name, self.start, self.length = storage, name, start, length
        self.handle = None

    def __iter__(self):
        self.handle = self.storage.open(self.name, "rb")
        try:
            self.handle.seek(self.start)
            remaining = self.length
            while remaining > 0:
                data = self.handle.read(min(CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data
        finally:
            self.close()

    def close(self):
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def range_response(storage, name, range_header, content_type="audio/mpeg"):
    """Stream ``name`` from ``storage``: 200 for the whole file, 206 for a range, 416 if unsatisfiable."""
    size = storage.size(name)
    byte_range = parse_range(range_header, size)
    if byte_range is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = byte_range if byte_range else (0, size - 1)
    length = max(end - start + 1, 0)
    response = StreamingHttpResponse(
        FileRange(storage, name, start, length),
        status=206 if byte_range else 200,
        content_type=content_type,
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
