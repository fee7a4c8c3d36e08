"""Reusable catalogue filters: ``Track.objects.published()``, ``.music()``, ``.for_cards()``…"""

from datetime import timedelta

from django.db import models
from django.utils import timezone


class TrackQuerySet(models.QuerySet):
    def published(self):
        """Tracks customers may see: published, and ingested with a playable preview."""
        return self.filter(is_published=True, ingest_status="ready")

    def music(self):
        return self.filter(kind="music")

    def sound_effects(self):
        return self.filter(kind="sfx")

    def for_cards(self):
        """Everything a result row (`catalog/_track_row.html`) shows, in two queries at most.

        The artist comes by join; genres and moods by one prefetch each.
        """
        return self.select_related("artist", "sound_category").prefetch_related("genres", "moods")

    def new_this_week(self, now=None):
        now = now or timezone.now()
        return self.published().filter(created_at__gte=now - timedelta(days=7)).order_by("-created_at")


class TrackVersionQuerySet(models.QuerySet):
    def ready(self):
        return self.filter(ingest_status="ready")

    def failed(self):
        return self.filter(ingest_status="failed")


class CollectionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class FavouriteQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)
