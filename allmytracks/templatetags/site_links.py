from django import template
from django.urls import NoReverseMatch

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
