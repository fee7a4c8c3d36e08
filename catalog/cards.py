"""Result rows without model instances: ``load_cards(ids)`` → ``[TrackCard]`` in the order of ``ids``.

A search page shows 12–48 rows. Through the ORM each page paid, besides the query itself, for
compiling ``card_queryset()`` again (its version subqueries and tag annotations: ~1.5 ms) and for
three model instances per row (track, artist, sound category: ~2 ms for 24 rows) — together more
than the search's own SQL for a rare word. Here the same queryset (``services.card_queryset``, so
the columns and subqueries are defined once) is compiled once per thread and page size, its
statement run with the page's ids, and each row becomes a plain ``TrackCard`` carrying exactly
what ``catalog_tags.track_row`` reads, named as on ``Track``. The ORM's own converters turn the
column values into Python values, as for any queryset (its converters, applied here).
"""

import json
import re
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
_IDS = "/* card ids */"


def _statement(count):
    """(sql, params, positions of the ids in params, converters) for ``count``
    ids, compiled once per thread (compiling touches the shared subqueries' alias counts).

    On PostgreSQL the constants are written into the statement and the ids are formatted into it
    as integers, so a page binds no parameters (binding 30-odd values cost more than the rows'
    own conversion); elsewhere the ids take their places among the parameters."""
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
        converters = [
            (index, funcs, expression)
            for index, (funcs, expression) in compiler.get_converters([s[0] for s in compiler.select]).items()
        ]
        if connection.vendor == "postgresql":
            sql = connection.ops.compose_sql(sql, params)
            listed = r",\s*".join(str(mark) for mark in marks)
            sql, found = re.subn(rf"\(\s*{listed}\s*\)", "(" + _IDS + ")", sql)
            if found != 1:  # the id list must be found exactly once to be replaced
                raise RuntimeError("card statement: id list not found")
            compiled = (sql, None, None, converters)
        else:
            positions = [params.index(mark) for mark in marks]
            compiled = (sql, list(params), positions, converters)
        cache[1][count] = compiled
    return compiled


def load_cards(ids):
    """``TrackCard`` rows for ``ids`` (any track, published or not: the caller chose the ids), in
    the order of ``ids``; ids with no track are left out. One query on PostgreSQL."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        return []
    sql, params, positions, converters = _statement(len(ids))
    if params is None:  # PostgreSQL: the ids are integers, written into the statement
        sql = sql.replace(_IDS, ", ".join(str(pk) for pk in ids))
    else:
        params = list(params)
        for position, pk in zip(positions, ids, strict=True):
            params[position] = pk
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    artwork_field = Track._meta.get_field("artwork_small")
    artwork_class = artwork_field.attr_class
    by_id = {}
    for row in rows:
        if converters:  # the ORM's own conversions of the column values (as ``results_iter``)
            row = list(row)
            for index, funcs, expression in converters:
                value = row[index]
                for convert in funcs:
                    value = convert(value, expression, connection)
                row[index] = value
        # The columns of _FIELDS, in its order, then the tag id arrays on PostgreSQL.
        (
            pk,
            kind,
            title,
            slug,
            artist_id,
            artist_name,
            artist_slug,
            category_id,
            category_name,
            duration,
            bpm,
            key,
            mode,
            artwork,
            waveform_json,
            updated_at,
            version_id,
            version_duration,
            *arrays,
        ) = row
        card = TrackCard()
        card.pk = pk
        card.kind = kind
        card.title = title
        card.slug = slug
        card.artist = CardArtist(artist_id, artist_name, artist_slug)
        card.sound_category_id = category_id
        card.sound_category = CardCategory(category_id, category_name) if category_id else None
        card.duration_seconds = duration
        card.bpm = bpm
        card.key = key
        card.mode = mode
        card.artwork_small = artwork_class(None, artwork_field, artwork or "")
        card._waveform_json = waveform_json
        card.updated_at = updated_at
        card.card_version_id = version_id
        card.card_version_duration = version_duration
        card._genre_ids, card._mood_ids = arrays or (None, None)
        by_id[card.pk] = card
    cards = [by_id[i] for i in ids if i in by_id]
    attach_tags(cards, ("genre", "mood"))
    return cards
