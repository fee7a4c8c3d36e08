"""Site-wide middleware that belongs to no app."""

from django.middleware.gzip import GZipMiddleware

COMPRESSIBLE = ("text/html", "text/plain", "text/csv", "application/json", "image/svg+xml")


class CompressPagesMiddleware(GZipMiddleware):
    """gzip for the pages and other text the views render (a search page: ~110 KB → ~15 KB).

    Only whole, textual responses: audio previews (streamed, often partial ``206`` answers to
    Range requests), file downloads and images pass untouched, and static files come
    pre-compressed from whitenoise. Django's gzip pads each response with random bytes, which
    defeats BREACH-style guessing of secrets (CSRF tokens) from compressed sizes.
    """

    def process_response(self, request, response):
        content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if response.streaming or response.status_code != 200 or content_type not in COMPRESSIBLE:
            return response
        return super().process_response(request, response)
