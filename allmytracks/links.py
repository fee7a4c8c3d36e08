"""URLs that are the same on every page (the header's links, a result row's URL patterns),
reversed once per process instead of on every page.

``reverse()`` matches the name against the URLconf and checks the result against the pattern's
regular expression each time: ~20 µs, and a page's header and rows asked for eight of them. The
answer only depends on the name and arguments, the script prefix, the URLconf in use and the
language, so those are the cache key; a test that swaps ``ROOT_URLCONF`` empties the cache.
"""

from functools import lru_cache

from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language


def cached_reverse(name, *args):
    """``reverse(name, args=args)``, remembered per process (plain string or int arguments)."""
    return _reversed(name, args, get_script_prefix(), get_urlconf(), get_language())


@lru_cache(maxsize=1024)
def _reversed(name, args, _prefix, urlconf, _language):
    return reverse(name, args=args or None, urlconf=urlconf)


def _forget(*, setting, **kwargs):
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        _reversed.cache_clear()


setting_changed.connect(_forget, dispatch_uid="allmytracks-links-forget")


def safe_next(request, fallback):
    """The ``next`` address a form or link carried, when it stays on this site; ``fallback`` (a URL)
    otherwise. Django's check refuses other hosts, other schemes and the browser-normalised forms of
    them (``//host``, ``/\\host``)."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback
