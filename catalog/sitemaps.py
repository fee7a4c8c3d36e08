"""The catalogue's part of the sitemap (``allmytracks.sitemaps``): published tracks, the artists
with published tracks, published collections, and the landing page of each genre, mood,
instrument, theme and sound category."""

from django.db.models import Exists, Max, OuterRef

from allmytracks.sitemaps import SiteSitemap

from .models import Artist, Collection, Track


class TrackSitemap(SiteSitemap):
    changefreq = "weekly"
    priority = 0.8
    # Pages of 10,000 (the protocol allows 50,000): 1.5–2.5 s to make one at a million tracks
    # instead of ~6 s, so a crawler's first pass through a cold cache never ties a worker up long.
    limit = 10_000

    def items(self):
        return Track.objects.published().only("slug", "updated_at").order_by("pk")

    def lastmod(self, track):
        return track.updated_at

    def get_latest_lastmod(self):
        # For the index: one aggregate (Django's default reads every track to take the newest).
        return Track.objects.published().aggregate(newest=Max("updated_at"))["newest"]


class ArtistSitemap(SiteSitemap):
    changefreq = "weekly"
    limit = 10_000

    def items(self):
        published = Track.objects.published().filter(artist=OuterRef("pk"))
        return Artist.objects.filter(Exists(published)).only("slug").order_by("pk")


class CollectionSitemap(SiteSitemap):
    changefreq = "weekly"

    def items(self):
        return Collection.objects.published().only("slug").order_by("pk")


class BrowseSitemap(SiteSitemap):
    """The catalogue's landing pages: the music of each genre, mood, instrument and theme, and the
    sound effects of each category (the search pages with that one filter)."""

    changefreq = "daily"

    def items(self):
        from django.urls import reverse

        from .search import TAXONOMY_DIMENSIONS, taxonomy

        tax = taxonomy()
        tracks, sounds = reverse("catalog:track-list"), reverse("catalog:sound-list")
        found = [f"{tracks}?{dim}={slug}" for dim in TAXONOMY_DIMENSIONS for _pk, slug, _name in tax[dim]]
        found += [f"{sounds}?category={row[1]}" for row in tax["category"]]
        return found

    def location(self, item):
        return item
