"""The private storage and short-lived download links to its files.

Public files (artwork, previews) live in the ``default`` storage. Masters, licence PDFs
and uploaded letters live in ``private`` and are reachable only through a link made
here: an S3 presigned URL on S3, or a Django-signed, expiring URL served by
``allmytracks.views.private_file`` on local disk. Both are bound to one file name
and say ``Content-Disposition: attachment`` with the filename given.
"""

import time

from django.conf import settings
from django.core import signing
from django.core.files.storage import storages
from django.urls import reverse
from django.utils.http import content_disposition_header

SIGNING_SALT = "allmytracks.private-file"


def private_storage():
    return storages["private"]


def is_s3(storage):
    return storage.__class__.__module__.startswith("storages.backends.s3")


def private_download_url(name, *, filename, max_age=None, content_type=None):
    """A URL that lets its holder download ``name`` for ``max_age`` seconds."""
    max_age = max_age or settings.PRIVATE_URL_MAX_AGE
    storage = private_storage()
    if is_s3(storage):
        parameters = {
            "ResponseContentDisposition": content_disposition_header(True, filename),
        }
        if content_type:
            parameters["ResponseContentType"] = content_type
        return storage.url(name, parameters=parameters, expire=max_age)
    token = signing.dumps(
        {"n": name, "f": filename, "t": content_type or "", "e": int(time.time()) + max_age},
        salt=SIGNING_SALT,
        compress=True,
    )
    return reverse("private-file", args=[token])


class InvalidLink(Exception):
    pass


def read_private_token(token):
    """The (name, filename, content_type) a local signed link grants, or InvalidLink."""
    try:
        data = signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature as exc:
        raise InvalidLink("This download link is not valid.") from exc
    if data.get("e", 0) < time.time():
        raise InvalidLink("This download link has expired. Go back and ask for a new one.")
    return data["n"], data["f"], data.get("t") or None
