"""Project-wide pages: home, health, robots, error pages and private file links."""

import logging
import mimetypes
import os
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import connections
from django.http import FileResponse, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_safe

from .storage import InvalidLink, is_s3, private_storage, read_private_token

log = logging.getLogger(__name__)


@require_safe
def home(request):
    from catalog.services import home_context

    return render(request, "home.html", home_context(request.user))


@require_safe
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /account/",
        "Disallow: /files/",
        "Disallow: /licenses/",
        "Disallow: /billing/",
        "Disallow: /playlists/",  # shared by link: for the people given it, not for search engines
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


def _check_database():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache():
    cache.set("healthz", "ok", 10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return the value it was given")


def _check_broker():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from .celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return None


def _check_storage():
    """Both storages answer: the bucket exists (S3), or the folder exists and is writable."""
    for alias in ("default", "private"):
        storage = storages[alias]
        if is_s3(storage):
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
        else:
            location = Path(storage.location)
            location.mkdir(parents=True, exist_ok=True)
            if not os.access(location, os.W_OK):
                raise PermissionError(f"{alias} storage folder is not writable")


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "storage": _check_storage,
}


@require_safe
def favicon(request):
    # Resolved per request: the hashed static name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


# The last answer, kept a few seconds: the page is public, and each check opens connections (the
# broker, the storage's bucket); probes and anyone else asking at once share one round of checks.
HEALTHZ_SECONDS = 5
_health = {"until": 0.0, "answer": None}
_health_lock = threading.Lock()
_clock = time.monotonic  # (tests move it)


def _forget_health(**kwargs):
    _health["until"] = 0.0


setting_changed.connect(_forget_health, dispatch_uid="allmytracks-healthz")


@never_cache
@require_safe
def healthz(request):
    """JSON state of every backing service; 503 naming what failed (checked at most every
    ``HEALTHZ_SECONDS`` in a process)."""
    with _health_lock:
        if _clock() >= _health["until"]:
            _health["answer"] = _check_health()
            _health["until"] = _clock() + HEALTHZ_SECONDS
        body, status = _health["answer"]
    return JsonResponse(body, status=status)


def _check_health():
    results, failed = {}, []
    for name, check in CHECKS.items():
        try:
            note = check()
        except Exception as exc:  # a health check reports any failure, it never raises
            log.warning("healthz: %s failed: %s", name, exc)
            results[name] = {"ok": False, "error": exc.__class__.__name__}
            failed.append(name)
        else:
            results[name] = {"ok": True, **({"mode": note} if note else {})}
    body = {"status": "ok" if not failed else "fail", "checks": results}
    if failed:
        body["failed"] = failed
    return body, 503 if failed else 200


@require_GET
def private_file(request, token):
    """Serve a private file named by a signed, unexpired token (local storage only)."""
    try:
        name, filename, content_type = read_private_token(token)
    except InvalidLink as exc:
        return render(request, "errors/403.html", {"reason": str(exc)}, status=403)
    storage = private_storage()
    if not storage.exists(name):
        return render(request, "errors/404.html", status=404)
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(
        storage.open(name, "rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- error pages -------------------------------------------------------------


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    reason = str(exception) if exception and str(exception) else ""
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # No request context: the failure may be in a context processor or the database.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


def csrf_failure(request, reason=""):
    return render(request, "errors/csrf.html", status=403)


def too_many_requests(request, exception=None, retry_after=60):
    response = render(request, "errors/429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
