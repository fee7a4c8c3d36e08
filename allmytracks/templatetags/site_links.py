import re
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.urls import NoReverseMatch
from django.utils.html import escape, format_html
from django.utils.http import is_same_domain
from django.utils.safestring import mark_safe

from allmytracks.links import cached_reverse

register = template.Library()


@register.simple_tag
def site_url(name, *args):
    """``{% url %}`` for links every page carries (see ``allmytracks.links``). Like ``{% url … as
    var %}``, a name this deployment does not route gives "" rather than an error."""
    try:
        return cached_reverse(name, *args)
    except NoReverseMatch:
        return ""


@register.filter
def absolute(url):
    """A path on this site ("/media/a.jpg") as the full address others need (``SITE_URL`` first);
    an address that is already full (storage on another host) as it is."""
    url = str(url or "")
    if not url or "://" in url or url.startswith("//"):
        return url
    return settings.SITE_URL.rstrip("/") + "/" + url.lstrip("/")


_ADDRESS = re.compile(r"(https?://[^\s<>\"']+)")


@register.filter
def link_own_addresses(text):
    """Plain text as HTML with this site's own addresses (``_is_own``) as links; everything else,
    other addresses included, escaped as it stands. For emails whose text can carry what members
    typed (an end user's name, a guardian's): the site's mail links only to the site."""
    parts = []
    for i, piece in enumerate(_ADDRESS.split(str(text or ""))):
        if i % 2 == 0:
            parts.append(escape(piece))
            continue
        address = piece.rstrip(".,;:!?)")
        trailing = piece[len(address) :]
        if _is_own(address):
            parts.append(format_html('<a href="{}">{}</a>{}', address, address, trailing))
        else:
            parts.append(escape(piece))
    return mark_safe("".join(parts))  # noqa: S308 — every piece escaped above


def _is_own(address):
    """Whether ``address`` is on this site: the host of ``SITE_URL``, or one the site answers on
    (``ALLOWED_HOSTS`` without its wildcard; allauth's links use the host the member came on)."""
    try:
        host = urlsplit(address).hostname or ""
    except ValueError:
        return False
    hosts = [urlsplit(settings.SITE_URL).hostname or "", *settings.ALLOWED_HOSTS]
    return bool(host) and any(is_same_domain(host, pattern) for pattern in hosts if pattern not in ("", "*"))
