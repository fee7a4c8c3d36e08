import re

from django import template
from django.urls import NoReverseMatch
from django.utils.html import escape, format_html
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
    from django.conf import settings

    url = str(url or "")
    if not url or "://" in url or url.startswith("//"):
        return url
    return settings.SITE_URL.rstrip("/") + "/" + url.lstrip("/")


_ADDRESS = re.compile(r"(https?://[^\s<>\"']+)")


@register.filter
def link_own_addresses(text):
    """Plain text as HTML with this site's own addresses (``SITE_URL``) as links; everything else,
    other addresses included, escaped as it stands. For emails whose text can carry what members
    typed (an end user's name, a guardian's): the site's mail links only to the site."""
    from django.conf import settings

    parts = []
    for i, piece in enumerate(_ADDRESS.split(str(text or ""))):
        if i % 2 == 0:
            parts.append(escape(piece))
            continue
        address = piece.rstrip(".,;:!?)")
        trailing = piece[len(address) :]
        if _is_own(address, settings):
            parts.append(format_html('<a href="{}">{}</a>{}', address, address, trailing))
        else:
            parts.append(escape(piece))
    return mark_safe("".join(parts))  # noqa: S308 — every piece escaped above


def _is_own(address, settings):
    """Whether ``address`` is on this site: the host of ``SITE_URL``, or one the site answers on
    (``ALLOWED_HOSTS``, where allauth's links point: the host the member signed up on)."""
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(address).hostname or "").lower()
    except ValueError:
        return False
    if not host:
        return False
    if host == (urlsplit(settings.SITE_URL).hostname or "").lower():
        return True
    for allowed in settings.ALLOWED_HOSTS:
        allowed = allowed.lower()
        if allowed == host or (allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:])):
            return True
    return False
