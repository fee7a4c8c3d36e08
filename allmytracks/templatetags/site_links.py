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
