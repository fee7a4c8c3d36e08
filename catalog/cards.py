"""Result rows without model instances: ``load_cards(ids)`` → ``[TrackCard]`` in the order of ``ids``.

A search page shows 12–48 rows. Through the ORM each page paid, besides the query itself, for
compiling ``card_queryset()`` again (its version subqueries and tag annotations: ~1.5 ms) and for
three model instances per row (track, artist, sound category: ~2 ms for 24 rows) — together more
than the search's own SQL for a rare word. Here the same queryset (``services.card_queryset``, so
the columns and subqueries are defined once) is compiled once per thread and page size, its
statement run with the page's ids, and each row becomes a plain ``TrackCard`` carrying exactly
what ``catalog_tags.track_row`` reads, named as on ``Track``. The ORM's own converters turn the
column values into Python values, as for any queryset.
"""

import json
import threading
from typing import NamedTuple

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from .models import Track, TrackLabels
from .querysets import attach_tags

# What a result row (``catalog_tags.track_row``) reads of a track: ``services.card_queryset()``
# loads only these, and ``load_cards`` reads them (foreign keys as their ids, the waveform as text)
# plus the main version's id and length and, on PostgreSQL, the genre and mood id arrays.
CARD_FIELDS = (
    "id",
    "kind",
    "title",
    "slug",
    "artist",
    "artist__name",
    "artist__slug",
    "sound_category",
    "sound_category__name",
    "duration_seconds",
    "bpm",
    "key",
    "mode",
    "artwork_small",
    "waveform",
    "updated_at",
)
_AS_READ = {"artist": "artist_id", "sound_category": "sound_category_id", "waveform": "card_waveform_json"}
_FIELDS = tuple(_AS_READ.get(name, name) for name in CARD_FIELDS) + (
    "card_version_id",
    "card_version_duration",
)
_TAG_ARRAYS = ("_genre_ids", "_mood_ids")


class CardArtist(NamedTuple):
    pk: int
    name: str
    slug: str


class CardCategory(NamedTuple):
    pk: int
    name: str


class TrackCard(TrackLabels):
    """What a result row shows of a track; attribute names as on ``Track`` (``pk``, ``artist.name``,
    ``artwork_small.url``, ``key_label``…), so ``track_row`` takes either."""

    __slots__ = (
        "pk",
        "kind",
        "title",
        "slug",
        "artist",
        "sound_category_id",
        "sound_category",
        "duration_seconds",
        "bpm",
        "key",
        "mode",
        "artwork_small",
        "_waveform_json",
        "_waveform",
        "updated_at",
        "card_version_id",
        "card_version_duration",
        "tags",
        "_genre_ids",
        "_mood_ids",
        "__weakref__",
    )

    @property
    def id(self):
        return self.pk

    @property
    def waveform(self):
        """The row's 100 bar heights, decoded when first read: a drawing is cached per process
        (``catalog_tags.cached_mini_wave_path``), so most rows never need them."""
        try:
            return self._waveform
        except AttributeError:
            self._waveform = json.loads(self._waveform_json) if self._waveform_json else []
            return self._waveform

    def __repr__(self):
        return f"<TrackCard {self.pk}: {self.title}>"

    def __getstate__(self):  # remembered searches pickle their rows
        skip = ("__weakref__", "_waveform")
        return {name: getattr(self, name, None) for name in self.__slots__ if name not in skip}

    def __setstate__(self, state):
        for name, value in state.items():
            setattr(self, name, value)


_per_thread = threading.local()
_ID_MARK = -7_319_000_000  # ids stand-ins for compiling; real ids are positive


def _statement(count):
    """(sql, params with the ids' positions, compiler, field names) for ``count`` ids, compiled once
    per thread (compiling touches the shared subqueries' alias counts)."""
    cache = getattr(_per_thread, "statements", None)
    if cache is None or cache[0] != connection.vendor:
        cache = _per_thread.statements = (connection.vendor, {})
    compiled = cache[1].get(count)
    if compiled is None:
        from .services import card_queryset

        marks = [_ID_MARK - i for i in range(count)]
        names = _FIELDS + (_TAG_ARRAYS if connection.vendor == "postgresql" else ())
        qs = (
            card_queryset(Track.objects.filter(pk__in=marks))
            .annotate(card_waveform_json=Cast("waveform", TextField()))
            .order_by()
            .values_list(*names)
        )
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()
        positions = [params.index(mark) for mark in marks]
        compiled = cache[1][count] = (sql, list(params), positions, compiler, names)
    return compiled


def load_cards(ids):
    """``TrackCard`` rows for ``ids`` (any track, published or not: the caller chose the ids), in
    the order of ``ids``; ids with no track are left out. One query on PostgreSQL."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        return []
    sql, params, positions, compiler, names = _statement(len(ids))
    params = list(params)
    for position, pk in zip(positions, ids, strict=True):
        params[position] = pk
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    artwork_field = Track._meta.get_field("artwork_small")
    by_id = {}
    for row in compiler.results_iter(results=[rows]):
        values = dict(zip(names, row, strict=True))
        card = TrackCard()
        card.pk = values["id"]
        card.kind = values["kind"]
        card.title = values["title"]
        card.slug = values["slug"]
        card.artist = CardArtist(values["artist_id"], values["artist__name"], values["artist__slug"])
        card.sound_category_id = values["sound_category_id"]
        card.sound_category = (
            CardCategory(values["sound_category_id"], values["sound_category__name"])
            if values["sound_category_id"]
            else None
        )
        card.duration_seconds = values["duration_seconds"]
        card.bpm = values["bpm"]
        card.key = values["key"]
        card.mode = values["mode"]
        card.artwork_small = artwork_field.attr_class(None, artwork_field, values["artwork_small"] or "")
        card._waveform_json = values["card_waveform_json"]
        card.updated_at = values["updated_at"]
        card.card_version_id = values["card_version_id"]
        card.card_version_duration = values["card_version_duration"]
        for name in _TAG_ARRAYS:
            setattr(card, name, values.get(name))
        by_id[card.pk] = card
    cards = [by_id[i] for i in ids if i in by_id]
    attach_tags(cards, ("genre", "mood"))
    return cards
