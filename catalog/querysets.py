"""Reusable catalogue filters: ``Track.objects.published()``, ``.music()``, ``.for_cards()``…"""

from datetime import timedelta
from typing import NamedTuple

from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone


class Tag(NamedTuple):
    """A genre, mood, instrument or theme as a page shows it (named from the cached taxonomy)."""

    pk: int
    slug: str
    name: str


TAG_DIMENSIONS = {
    # dimension: (M2M field of Track, id array column kept on the row by migration 0002's triggers)
    "genre": ("genres", "genre_ids"),
    "mood": ("moods", "mood_ids"),
    "instrument": ("instruments", "instrument_ids"),
    "theme": ("themes", "theme_ids"),
}


class TrackQuerySet(models.QuerySet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tag_dims = ()

    def _clone(self):
        clone = super()._clone()
        clone._tag_dims = self._tag_dims
        return clone

    def _fetch_all(self):
        # Like prefetch_related, once per evaluation, after the rows are in.
        fetched = self._result_cache is not None
        super()._fetch_all()
        if self._tag_dims and not fetched and self._iterable_class is models.query.ModelIterable:
            attach_tags(self._result_cache, self._tag_dims)

    def published(self):
        """Tracks customers may see: published, and ingested with a playable preview."""
        return self.filter(is_published=True, ingest_status="ready")

    def music(self):
        return self.filter(kind="music")

    def sound_effects(self):
        return self.filter(kind="sfx")

    def with_tags(self, *dims):
        """Each track gets ``tags``: {dimension: [Tag]} in name order, for ``dims`` (default all).

        PostgreSQL reads the id arrays on the row (no extra query); elsewhere one query over the
        link tables. Names come from the cached taxonomy (``catalog.search.taxonomy``).
        """
        dims = tuple(dims or TAG_DIMENSIONS)
        qs = self
        if connection.vendor == "postgresql":
            # Column names from TAG_DIMENSIONS only; no value reaches this SQL.
            columns = {f"_{dim}_ids": f"catalog_track.{TAG_DIMENSIONS[dim][1]}" for dim in dims}
            qs = qs.annotate(**{name: RawSQL(column, ()) for name, column in columns.items()})  # noqa: S611
        qs._tag_dims = dims
        return qs

    def for_cards(self):
        """Everything a result row (``catalog/_track_row.html``) shows, with no prefetch.

        The artist and sound category by join; the main version (the full mix, or else the first
        ready version) as ``card_version_id`` / ``card_version_duration``; genres and moods as
        ``tags`` (see ``with_tags``). One query on PostgreSQL, two elsewhere, for any number of rows.
        """
        from .models import TrackVersion

        main = (
            TrackVersion.objects.ready()
            .filter(track=models.OuterRef("pk"))
            .order_by(models.Case(models.When(kind="full", then=0), default=1), "position", "pk")
        )
        return (
            self.select_related("artist", "sound_category")
            .annotate(
                card_version_id=models.Subquery(main.values("pk")[:1]),
                card_version_duration=models.Subquery(main.values("duration_seconds")[:1]),
            )
            .with_tags("genre", "mood")
        )

    def new_this_week(self, now=None):
        now = now or timezone.now()
        return self.published().filter(published_at__gte=now - timedelta(days=7)).order_by("-published_at")


def attach_tags(tracks, dims=tuple(TAG_DIMENSIONS)):
    """Set ``track.tags`` = {dimension: [Tag]} (name order) on each of ``tracks``."""
    from .models import Track
    from .search import taxonomy

    if not tracks:
        return
    ids = {dim: {t.pk: getattr(t, f"_{dim}_ids", None) for t in tracks} for dim in dims}
    missing = [dim for dim in dims if any(v is None for v in ids[dim].values())]
    if missing:  # no arrays on this database: one query over the link tables
        for dim in missing:
            ids[dim] = {t.pk: [] for t in tracks}
        parts = [
            getattr(Track, TAG_DIMENSIONS[dim][0])
            .through.objects.filter(track_id__in=[t.pk for t in tracks])
            .annotate(d=models.Value(dim))
            .values_list("d", "track_id", f"{dim}_id")
            .order_by()
            for dim in missing
        ]
        rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        for dim, track_id, tag_id in rows:
            ids[dim][track_id].append(tag_id)
    tax = taxonomy()
    wanted = {pk for dim in dims for pks in ids[dim].values() for pk in pks or ()}
    known = {row[0] for dim in dims for row in tax[dim]}
    if not wanted <= known:  # a tag newer than the cached names: read them again
        tax = taxonomy(fresh=True)
    tags = {t.pk: getattr(t, "tags", None) or {} for t in tracks}
    for dim in dims:
        order = {pk: (i, Tag(pk, slug, name)) for i, (pk, slug, name) in enumerate(tax[dim])}
        per_track = ids[dim]
        for t in tracks:
            found = sorted(order[pk] for pk in per_track[t.pk] or () if pk in order)
            tags[t.pk][dim] = [tag for _i, tag in found]
    for t in tracks:
        t.tags = tags[t.pk]


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
