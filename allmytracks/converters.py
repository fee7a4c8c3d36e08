"""URL converters shared by the apps' URLconfs (registered when the root URLconf loads)."""

from django.urls import register_converter


class IdConverter:
    """A database id in a URL: 1 to 18 digits, so it always fits a 64-bit column. A longer number
    is no page (404) rather than a value every database lookup would have to guard against."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(int(value))


register_converter(IdConverter, "id")
