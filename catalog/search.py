# ruff: noqa: S608, S610
# SQL here is assembled from constants and integers only; every value travels as a parameter, and
# query words are reduced to letters and digits before they reach a tsquery.
"""Catalogue search: one entry point, ``search_tracks(SearchParams) -> SearchResult``.

PostgreSQL (production, CI, the benchmark) — built for p95 ≤ 50 ms at 1,000,000 tracks:

- Text is matched against a stored, weighted ``search_vector`` (title A, artist/album B,
  genres/moods/instruments/themes/category C, description D) with a GIN index; the columns and
  the triggers that keep them current are in migration ``0002_search_index``.
- Query words are first checked against ``catalog_searchword`` (the catalogue's distinct words,
  trigram-indexed): an unknown word is corrected to the closest known word, then the corrected
  query is searched ("Showing results for …"). The last word also matches the catalogue words it
  begins (looked up in the same dictionary: exact lexemes, or ``word:*`` past MAX_COMPLETIONS) so results
  follow the user's typing.
- Relevance never ranks every match: the best ``CANDIDATES`` matches by popularity are ranked
  with ``ts_rank`` and paged. They are found by walking the popularity index while matches are
  dense, or through the GIN index and a top-N sort when the planner's estimate says the walk
  would read more than ``WALK_ROWS`` rows. On a walk the ``FRESH_CANDIDATES`` newest matches join
  them (a second, short walk of the newest index), so a new track that matches well can rank before
  it has been played. Other sorts walk their own btree index for the page.
- Counts stop at ``COUNT_CAP`` ("1,000+ results"); paging reaches the first ``RESULT_WINDOW``.
- Facet counts reflect the other active filters. Dimensions without an active filter count the
  bounded set above; each active one counts "all filters but its own" among the
  ``FACET_SAMPLE`` most popular tracks, or among the text's own matches when the word dictionary
  says they are fewer (exact for a rare word; one pass for all of them). Counting is ``unnest``
  over id arrays on the row, no join.
- A page costs a constant number of queries: the word check, the planner's estimate (relevance
  with filters or text), one statement for page ids + total + facets, and the rows (one query,
  see ``catalog.cards.load_cards``). Taxonomy names come from the cache.

SQLite (the laptop default) searches with simple ``icontains`` matching over title, artist,
album and tag names, exact counts and facets through the ORM; no ranking; a search that finds
nothing is tried again with misspelled words corrected against the catalogue's words (``difflib``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast
from django.db.models.signals import m2m_changed, post_delete, post_save

from allmytracks.memo import ProcessMemo

from .cards import load_cards
from .models import Artist, Genre, Instrument, Mood, SoundCategory, Theme, Track, TrackVersion
from .querysets import TAG_DIMENSIONS

MAX_QUERY_LENGTH = 100  # characters of ``q`` kept; the rest is cut off
MAX_WORDS = 8  # query words searched; more add nothing but cost
MAX_COMPLETIONS = 20  # the last word matches the catalogue words it begins, up to this many
RESULT_WINDOW = 1000  # results reachable by paging
COUNT_CAP = RESULT_WINDOW + 1  # counting stops here: "1,000+ results"
# The bounded set: the best matches by popularity. Relevance ranks it, the total counts it,
# the facets count it, and any sort pages within it when it holds every match.
CANDIDATES = 1200  # at least RESULT_WINDOW: relevance pages come from this set
# When matches are dense (a walk), this many of the newest join the most popular ones: new tracks
# have no use yet, and for a common word the 1,200 most popular matches are a few per cent of them.
FRESH_CANDIDATES = 60
# Facet counts of a dimension with an active filter ("all filters but this one") are counted
# among the matches in this many most popular tracks (PostgreSQL) — or, when the dictionary says
# the text matches at most this many tracks, among the first FACET_TEXT_ROWS of the text's matches
# (every one, for a rare word).
FACET_SAMPLE = 10_000
FACET_TEXT_ROWS = 2_000
# The best CANDIDATES by popularity are found by walking the popularity index while the matches
# are dense enough that the walk reads at most this many rows; sparser matches are collected
# from the GIN index and the best taken by a top-N sort (PostgreSQL).
WALK_ROWS = 50_000
PAGE_SIZES = (12, 24, 48)
DEFAULT_PAGE_SIZE = 24
TS_CONFIG = "english"
RANK_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"  # D, C, B, A: a title hit outweighs any description hit

SORTS = {
    # name: (label, PostgreSQL ORDER BY, ORM order_by)
    "relevance": ("Best match", None, None),
    "popular": ("Most popular", "t.popularity DESC, t.id DESC", ("-popularity", "-id")),
    # This week's use first; the many tracks with none follow in popularity order.
    "trending": (
        "Trending",
        "t.trending DESC, t.popularity DESC, t.id DESC",
        ("-trending", "-popularity", "-id"),
    ),
    # By first publication: a track uploaded long ago and published today is new today.
    "newest": ("Newest", "t.published_at DESC, t.id DESC", ("-published_at", "-id")),
    "duration": ("Shortest", "t.duration_seconds ASC, t.id ASC", ("duration_seconds", "id")),
    "-duration": ("Longest", "t.duration_seconds DESC, t.id DESC", ("-duration_seconds", "-id")),
    "bpm": ("Slowest BPM", "t.bpm ASC NULLS LAST, t.id ASC", ("bpm", "id")),
    "-bpm": ("Fastest BPM", "t.bpm DESC NULLS LAST, t.id DESC", ("-bpm", "-id")),
}
# URL parameter: (model, M2M field of Track, id array column) — the fields from TAG_DIMENSIONS.
TAXONOMY_DIMENSIONS = {
    dim: (model, *TAG_DIMENSIONS[dim])
    for dim, model in (("genre", Genre), ("mood", Mood), ("instrument", Instrument), ("theme", Theme))
}
ENERGY_LABELS = {1: "Calm", 2: "Relaxed", 3: "Moderate", 4: "Energetic", 5: "Intense"}
FACET_DIMENSIONS = ("genre", "mood", "instrument", "theme", "vocals", "key", "energy", "explicit", "category")

_WORD = re.compile(r"[^\W_]+")


def default_sort(q):
    return "relevance" if q else "popular"


# --- input and output ---------------------------------------------------------------------


@dataclass(frozen=True)
class SearchParams:
    """A search as the form cleaned it. Every field is already valid (see ``forms.SearchForm``)."""

    q: str = ""
    kind: str = ""  # "", "music" or "sfx"
    genre: tuple[str, ...] = ()  # taxonomy slugs
    mood: tuple[str, ...] = ()
    instrument: tuple[str, ...] = ()
    theme: tuple[str, ...] = ()
    category: str = ""  # sound category slug (its subtree matches)
    vocals: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    energy: tuple[int, ...] = ()
    explicit: str = ""  # "", "no" (hide explicit) or "only"
    bpm_min: int | None = None
    bpm_max: int | None = None
    duration_min: int | None = None  # seconds
    duration_max: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    @property
    def has_filters(self):
        return any(
            (
                self.genre,
                self.mood,
                self.instrument,
                self.theme,
                self.category,
                self.vocals,
                self.key,
                self.energy,
                self.explicit,
                self.bpm_min is not None,
                self.bpm_max is not None,
                self.duration_min is not None,
                self.duration_max is not None,
            )
        )

    def has_filters_besides(self, dimension):
        """Any filter set other than ``dimension`` (one of the URL's filter names)."""
        return bool(replace(self, **{dimension: type(getattr(self, dimension))()}).has_filters)

    def active(self, dimension):
        value = getattr(self, dimension)
        return bool(value)


@dataclass(slots=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    depth: int = 0  # sound categories: 0 for a root, 1 for a child, …

    @property
    def count_label(self):
        """The count with thousands separators ("12,345"), without a template filter per value."""
        return f"{self.count:,}"


@dataclass
class SearchResult:
    tracks: list
    total: int  # exact when not ``total_capped``; otherwise COUNT_CAP
    total_capped: bool  # the UI says "1,000+ results"
    page: int
    per_page: int
    num_pages: int
    facets: dict = field(default_factory=dict)  # dimension -> [FacetValue]
    facets_sampled: bool = False  # counts come from the best CANDIDATES matches
    query: str = ""  # the text that was searched (after correction)
    corrected_from: str = ""  # the user's text when a word was corrected ("did you mean")
    suggestion: str = ""  # a corrected query to offer when nothing matched

    @property
    def count_label(self):
        """The heading's count: "1,000+ results", "1 result", "12,345 results"."""
        if self.total_capped:
            return f"{RESULT_WINDOW:,}+ results"
        return f"{self.total:,} result{'' if self.total == 1 else 's'}"

    @property
    def has_previous(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.num_pages

    @property
    def start_index(self):
        return (self.page - 1) * self.per_page + 1 if self.tracks else 0

    @property
    def end_index(self):
        return self.start_index + len(self.tracks) - 1 if self.tracks else 0

    def page_range(self):
        """Page numbers to link, with None for a gap: 1 … 4 5 [6] 7 8 … 42."""
        pages = sorted(
            {1, self.num_pages, *range(max(1, self.page - 2), min(self.num_pages, self.page + 2) + 1)}
        )
        out, prev = [], 0
        for p in pages:
            if p - prev > 1:
                out.append(None)
            out.append(p)
            prev = p
        return out


# --- taxonomy names (cached: a page must not pay a query per facet) -------------------------

_TAXONOMY_CACHE_KEY = "catalog:search:taxonomy:v1"
# A search page reads the names three times (the form, the facets, the rows' tags): each process
# keeps what it read for a couple of seconds rather than asking the shared cache each time.
_taxonomy_local = ProcessMemo(2.0)


def taxonomy(*, fresh=False):
    """{dimension: [(id, slug, name)]} for genres, moods, instruments, themes, plus
    "category": [(id, slug, name, parent_id)] — one UNION query, cached for five minutes
    (``fresh``: read the database now, for a caller that met an id the cache did not know).
    A change is seen at once by this process and within two seconds by others."""
    if not fresh:
        data = _taxonomy_local.get()
        if data is not None:
            return data
    data = None if fresh else cache.get(_TAXONOMY_CACHE_KEY)
    if data is not None:
        return _taxonomy_local.set(data)
    data = {dim: [] for dim in (*TAXONOMY_DIMENSIONS, "category")}
    parts = [
        Genre.objects.annotate(d=Value("genre"), p=Cast(Value(None), BigIntegerField()))
        .values_list("d", "id", "slug", "name", "p")
        .order_by(),
        Mood.objects.annotate(d=Value("mood"), p=Cast(Value(None), BigIntegerField()))
        .values_list("d", "id", "slug", "name", "p")
        .order_by(),
        Instrument.objects.annotate(d=Value("instrument"), p=Cast(Value(None), BigIntegerField()))
        .values_list("d", "id", "slug", "name", "p")
        .order_by(),
        Theme.objects.annotate(d=Value("theme"), p=Cast(Value(None), BigIntegerField()))
        .values_list("d", "id", "slug", "name", "p")
        .order_by(),
        SoundCategory.objects.annotate(d=Value("category"))
        .values_list("d", "id", "slug", "name", "parent_id")
        .order_by(),
    ]
    union = parts[0].union(*parts[1:], all=True)
    for dim, pk, slug, name, parent in union:
        data[dim].append((pk, slug, name) if dim != "category" else (pk, slug, name, parent))
    for dim in TAXONOMY_DIMENSIONS:
        data[dim].sort(key=lambda row: row[2].lower())
    data["category"] = _category_tree_order(data["category"])
    cache.set(_TAXONOMY_CACHE_KEY, data, 300)
    return _taxonomy_local.set(data)


def _category_tree_order(rows):
    """Depth-first order (parents before children, siblings by name) with a depth column."""
    children = {}
    for pk, slug, name, parent in rows:
        children.setdefault(parent, []).append((pk, slug, name, parent))
    out = []

    def walk(parent, depth):
        for pk, slug, name, par in sorted(children.get(parent, []), key=lambda r: r[2].lower()):
            out.append((pk, slug, name, par, depth))
            walk(pk, depth + 1)

    walk(None, 0)
    return out


def _forget_taxonomy(**kwargs):
    _taxonomy_local.forget()
    cache.delete(_TAXONOMY_CACHE_KEY)
    # Again once the change is committed: a page between the save and the commit would otherwise
    # cache the old names for five minutes.
    transaction.on_commit(lambda: (cache.delete(_TAXONOMY_CACHE_KEY), _taxonomy_local.forget()), robust=True)
    transaction.on_commit(forget_search_results, robust=True)


for _model in (Genre, Mood, Instrument, Theme, SoundCategory):
    post_save.connect(_forget_taxonomy, sender=_model, dispatch_uid=f"search-tax-save-{_model.__name__}")
    post_delete.connect(_forget_taxonomy, sender=_model, dispatch_uid=f"search-tax-del-{_model.__name__}")


def _slug_ids(dimension, slugs):
    wanted = set(slugs)
    return [row[0] for row in taxonomy()[dimension] if row[1] in wanted]


def _category_subtree_ids(slug):
    rows = taxonomy()["category"]
    root = next((r[0] for r in rows if r[1] == slug), None)
    if root is None:
        return []
    ids, frontier = [root], {root}
    while frontier:
        frontier = {r[0] for r in rows if r[3] in frontier}
        ids.extend(frontier)
    return ids


# --- query words ------------------------------------------------------------------------------


def query_words(q):
    """Lower-case words of the query: letters and digits only, so SQL or tsquery syntax
    (``& | ! : * ( ) ' \\``) can never reach a query, however it is typed."""
    return [w.lower() for w in _WORD.findall((q or "")[:MAX_QUERY_LENGTH])][:MAX_WORDS]


def _tsquery(words, completions=None):
    """``to_tsquery`` text for words that are known to be plain letters and digits.

    The last word is what the user may still be typing: it matches the catalogue words it
    begins (``completions``, from the dictionary) as exact lexemes — an index lookup and a
    cheap test per row — or, when it begins more than ``MAX_COMPLETIONS`` words, as a prefix
    (``word:*``), which costs several times more per row.
    """
    terms = list(words)
    if not terms or len(terms[-1]) < 2:
        return " & ".join(terms)
    if completions and len(completions) <= MAX_COMPLETIONS:
        terms[-1] = "(" + " | ".join(completions) + ")" if len(completions) > 1 else completions[0]
    else:
        terms[-1] += ":*"
    return " & ".join(terms)


def correct_words(words):
    """PostgreSQL: check each word against the catalogue's dictionary (one query).

    Returns ``(searched, completions, matches)``. ``searched``: each known word (the last one may
    be a prefix of a known word: the user is still typing) as it is, each unknown word replaced by
    the most similar known word, or dropped when nothing is similar. ``completions``: the
    dictionary words the last word begins, most frequent first (at most MAX_COMPLETIONS + 1),
    when the last word is searched as typed; otherwise None. ``matches``: about how many tracks
    the searched text can match — the dictionary's document count of its rarest word (of the
    completions together, for the last word) — or None when a word is searched as a prefix
    (``word:*``). The dictionary counts words as written and is recounted by ``rebuild_search``,
    so this is a guide for choosing a plan, not a bound to rely on.
    """
    if not words:
        return [], None, None
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT q.w, k.ndoc, c.words, c.docs, fix.word, fix.ndoc
              FROM unnest(%s::text[]) WITH ORDINALITY AS q(w, i)
             CROSS JOIN LATERAL (
                   SELECT (SELECT s.ndoc FROM catalog_searchword s WHERE s.word = q.w) AS ndoc) k
             CROSS JOIN LATERAL (
                   SELECT coalesce(array_agg(b.word ORDER BY b.ndoc DESC, b.word), '{}') AS words,
                          sum(b.ndoc)::bigint AS docs
                     FROM (SELECT s.word, s.ndoc FROM catalog_searchword s
                            WHERE q.i = %s AND s.word LIKE q.w || '%%'
                            ORDER BY s.ndoc DESC, s.word LIMIT %s) b) c
              LEFT JOIN LATERAL (
                   SELECT s.word, s.ndoc FROM catalog_searchword s
                    WHERE k.ndoc IS NULL AND cardinality(c.words) = 0 AND length(q.w) >= 3
                      AND s.word %% q.w
                    ORDER BY similarity(s.word, q.w) DESC, s.ndoc DESC, s.word LIMIT 1) fix ON TRUE
             ORDER BY q.i
            """,
            [words, len(words), MAX_COMPLETIONS + 1],
        )
        rows = cur.fetchall()
    out, completions, docs = [], None, []
    for word, ndoc, begun, begun_docs, closest, closest_docs in rows:
        if ndoc is not None or begun:
            out.append(word)
            completions = begun or None
            if begun and len(begun) > MAX_COMPLETIONS:
                docs.append(None)  # searched as a prefix: no count
            else:
                docs.append(begun_docs if begun else ndoc)
        elif closest:
            out.append(closest)
            completions = None
            docs.append(closest_docs)
    known = [n for n in docs if n is not None]
    return out, completions, min(known) if known else None


# --- the entry point ----------------------------------------------------------------------------


def search_tracks(params: SearchParams, *, queryset=None) -> SearchResult:
    """Search the published catalogue. ``queryset`` may narrow what rows are loaded with
    (default: ``catalog.services.card_queryset``)."""
    if connection.vendor == "postgresql":
        return _PostgresSearch(params).run(queryset)
    return _SimpleSearch(params).run(queryset)


def _load_rows(ids, queryset):
    """The page's tracks in the order of ``ids``, with what a result row shows: ``TrackCard`` rows
    (``catalog.cards``), or instances of the caller's ``queryset``."""
    if not ids:
        return []
    if queryset is None:
        return load_cards(ids)
    by_id = {t.pk: t for t in queryset.order_by().filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


# --- remembered results (PostgreSQL) ------------------------------------------------------------
# The same search asked again within CATALOG_SEARCH_CACHE_SECONDS gets its page of tracks, total
# and facet counts from the cache (Redis in production) instead of running its statements again.
# Any change to what a result shows (a track, its links, versions or artist, the taxonomy, a bulk
# publish) starts a new generation of keys. Favourite marks and preview links are per request.

_GENERATION_KEY = "catalog:search:generation"


def _remembered(params, find):
    seconds = getattr(settings, "CATALOG_SEARCH_CACHE_SECONDS", 60)
    if not seconds:
        return find()
    generation = cache.get(_GENERATION_KEY, 0)
    digest = hashlib.sha256(repr(params).encode()).hexdigest()
    key = f"catalog:search:found:{generation}:{digest}"
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        found = find()
        cache.set(key, found, seconds)
    return found


_MISSING = object()


def forget_search_results(**kwargs):
    """Start a new generation of remembered results. Call it once a change is committed: a search
    between the change and its commit still sees the old rows (see ``_forget_on_commit``)."""
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:  # no generation yet (or evicted)
        cache.set(_GENERATION_KEY, 1, None)


def _forget_on_commit(**kwargs):
    """Signal receiver: a new generation once the saving transaction commits (at once outside one)."""
    transaction.on_commit(forget_search_results, robust=True)


post_save.connect(_forget_on_commit, sender=Track, dispatch_uid="search-results-track-save")
post_delete.connect(_forget_on_commit, sender=Track, dispatch_uid="search-results-track-delete")
post_save.connect(_forget_on_commit, sender=Artist, dispatch_uid="search-results-artist-save")
post_save.connect(_forget_on_commit, sender=TrackVersion, dispatch_uid="search-results-version-save")
post_delete.connect(_forget_on_commit, sender=TrackVersion, dispatch_uid="search-results-version-delete")
for _dim, (_model, _field, _column) in TAXONOMY_DIMENSIONS.items():
    m2m_changed.connect(
        _forget_on_commit, sender=getattr(Track, _field).through, dispatch_uid=f"search-results-{_dim}"
    )


def _searchable_rows():
    """The planner's row count of ``catalog_tracksearch`` (cached for ten minutes)."""
    rows = cache.get("catalog:search:rows")
    if rows is None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class"
                " WHERE oid = 'catalog_tracksearch'::regclass"
            )
            rows = cur.fetchone()[0]
        cache.set("catalog:search:rows", rows, 600)
    return rows


def _num_pages(total, per_page):
    reachable = min(total, RESULT_WINDOW)
    return max(1, math.ceil(reachable / per_page))


def _clamp_page(params):
    last_reachable = max(1, RESULT_WINDOW // params.per_page)
    return min(max(1, params.page), last_reachable)


_by_id_memo = (None, None)  # (taxonomy data, its index)


def _taxonomy_by_id(tax):
    """{dimension: {id as text: (slug, name)}} of one taxonomy read (kept while it is current)."""
    global _by_id_memo
    data, index = _by_id_memo
    if data is not tax:
        index = {dim: {str(row[0]): (row[1], row[2]) for row in tax[dim]} for dim in TAXONOMY_DIMENSIONS}
        _by_id_memo = (tax, index)
    return index


def _facets_from_counts(params, counts):
    """Turn {dimension: {value: count}} into ordered FacetValue lists (selected ones always shown)."""
    tax = taxonomy()
    by_id = _taxonomy_by_id(tax)
    facets = {}
    for dim in TAXONOMY_DIMENSIONS:
        selected = set(getattr(params, dim))
        got = counts.get(dim, {})
        names = by_id[dim]
        values = [
            FacetValue(names[pk][0], names[pk][1], n, names[pk][0] in selected)
            for pk, n in got.items()
            if n and pk in names
        ]
        shown = {v.value for v in values}
        values += [
            FacetValue(slug, name, 0, True)
            for _pk, slug, name in tax[dim]
            if slug in selected and slug not in shown
        ]
        values.sort(key=lambda v: (not v.selected, -v.count, v.label.lower()))
        facets[dim] = values
    got = counts.get("vocals", {})
    facets["vocals"] = [
        FacetValue(v, label, got.get(v, 0), v in params.vocals)
        for v, label in Track.Vocals.choices
        if got.get(v) or v in params.vocals
    ]
    got = counts.get("key", {})
    facets["key"] = [
        FacetValue(k, label, got.get(k, 0), k in params.key)
        for k, label in Track.KEY_CHOICES
        if got.get(k) or k in params.key
    ]
    got = counts.get("energy", {})
    facets["energy"] = [
        FacetValue(str(e), f"{e} · {label}", got.get(str(e), 0), e in params.energy)
        for e, label in ENERGY_LABELS.items()
        if got.get(str(e)) or e in params.energy
    ]
    got = counts.get("explicit", {})
    facets["explicit"] = [
        FacetValue("no", "Hide explicit", got.get("false", 0), params.explicit == "no"),
        FacetValue("only", "Explicit only", got.get("true", 0), params.explicit == "only"),
    ]
    # Sound categories: a node counts its own tracks and its descendants'.
    got = counts.get("category", {})
    rows = tax["category"]
    totals = {r[0]: got.get(str(r[0]), 0) for r in rows}
    parent_of = {r[0]: r[3] for r in rows}
    for pk, n in list(totals.items()):
        if not n:
            continue
        node = parent_of.get(pk)
        while node is not None:
            totals[node] = totals.get(node, 0) + n
            node = parent_of.get(node)
    facets["category"] = [
        FacetValue(slug, name, totals.get(pk, 0), slug == params.category, depth)
        for pk, slug, name, _parent, depth in rows
    ]
    return facets


# --- PostgreSQL -----------------------------------------------------------------------------------


class _PostgresSearch:
    def __init__(self, params):
        self.params = params
        self.words = query_words(params.q)
        self.matches = None  # about how many tracks the searched text matches (``correct_words``)

    def run(self, queryset):
        p = self.params
        found = _remembered(p, self._find)
        if found is None:
            # Nothing in the query is (or resembles) a catalogue word: there can be no match.
            return SearchResult(
                [], 0, False, 1, p.per_page, 1, _facets_from_counts(p, {}), False, " ".join(self.words)
            )
        query_text, corrected_from, page, tracks, total, counts, sampled = found
        if queryset is not None:  # rows of the caller's own making
            tracks = _load_rows([t.pk for t in tracks], queryset)
        return SearchResult(
            tracks=tracks,
            total=min(total, COUNT_CAP),
            total_capped=total >= COUNT_CAP,
            page=page,
            per_page=p.per_page,
            num_pages=_num_pages(total, p.per_page),
            facets=_facets_from_counts(p, counts),
            facets_sampled=sampled,
            query=query_text if self.words else "",
            corrected_from=corrected_from,
            suggestion=query_text if corrected_from and not total else "",
        )

    def _find(self):
        """What the search found: (searched text, corrected from, page, the page's tracks, total,
        facet counts, sampled), or None when no query word is (or resembles) a catalogue word."""
        searched, completions, self.matches = correct_words(self.words)
        if self.words and not searched:
            return None
        query_text = " ".join(searched)
        corrected_from = " ".join(self.words) if searched != self.words and searched else ""
        tsq = _tsquery(searched, completions) if searched else ""
        page = _clamp_page(self.params)
        ids, total, counts, sampled = self._query(tsq, page)
        num_pages = _num_pages(total, self.params.per_page)
        if not ids and total and page > num_pages:  # past the end: show the last page
            page = num_pages
            ids, total, counts, sampled = self._query(tsq, page)
        return query_text, corrected_from, page, _load_rows(ids, None), total, counts, sampled

    def _conditions(self, tsq):
        """[(facet dimension or None, SQL, args)] for every active filter, cheapest first.

        Scalar filters are keys of the GIN index (see migration 0004): one index scan intersects
        them with the words and tags. Ranges are checked on the row ("+ 0" keeps the planner from
        AND-ing a bitmap of a wide bpm range: it costs more than it saves). The text match comes
        last: on a walk it is the costly test, so the array tests turn most rows away first.
        """
        p = self.params
        out = []
        if p.kind:
            out.append((None, "t.kind = %s", [p.kind]))
        for dim, (_model, _field, column) in TAXONOMY_DIMENSIONS.items():
            slugs = getattr(p, dim)
            if slugs:
                out.append((dim, f"t.{column} && %s::int[]", [_slug_ids(dim, slugs) or [0]]))
        keys = []
        if p.category:
            keys.append(("category", [f"c:{pk}" for pk in _category_subtree_ids(p.category)] or ["c:0"]))
        if p.vocals:
            keys.append(("vocals", [f"v:{v}" for v in p.vocals]))
        if p.key:
            keys.append(("key", [f"key:{k}" for k in p.key]))
        if p.energy:
            keys.append(("energy", [f"e:{e}" for e in p.energy]))
        if p.explicit:
            keys.append(("explicit", ["x:1" if p.explicit == "only" else "x:0"]))
        out.extend((dim, "t.keys && %s::text[]", [values]) for dim, values in keys)
        for column, op, value in (
            ("bpm", ">=", p.bpm_min),
            ("bpm", "<=", p.bpm_max),
            ("duration_seconds", ">=", p.duration_min),
            ("duration_seconds", "<=", p.duration_max),
        ):
            if value is not None:
                out.append((None, f"(t.{column} + 0) {op} %s", [value]))
        if tsq:
            out.append((None, f"t.search_vector @@ to_tsquery('{TS_CONFIG}', %s)", [tsq]))
        return out

    def _where(self, tsq):
        """WHERE clause and its parameters for every active filter."""
        sql, args = ["TRUE"], []  # catalog_tracksearch holds published, ready tracks only
        for _dim, condition, values in self._conditions(tsq):
            sql.append(condition)
            args += values
        return " AND ".join(sql), args

    def _walk_is_cheap(self, where, args):
        """Does walking the popularity index find CANDIDATES matches within WALK_ROWS rows?

        The planner estimates the matches well (statistics on the vector and the id arrays) but
        costs the walk as if each row's test were free; the text test is not. So its estimate
        (``EXPLAIN``, planning only: well under a millisecond) decides here instead.
        """
        if where == "TRUE":
            return True
        with connection.cursor() as cur:
            cur.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM catalog_tracksearch t WHERE {where}", args)
            plan = cur.fetchone()[0]
        estimate = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
        return estimate * WALK_ROWS >= CANDIDATES * _searchable_rows()

    def _query(self, tsq, page):
        """One statement: the page's ids in order, the (capped) total, and the facet counts.

        ``base`` is the bounded set — every filter, best ``CANDIDATES`` by popularity (an indexed
        order). It is ranked for relevance, counted for the total, and counted for the facets
        of the dimensions without an active filter. When it is not full it holds every match, so
        any sort pages within it; when it is full the matches are dense and the other sorts walk
        their own index for the page, which finds its rows quickly.
        """
        p = self.params
        offset = (page - 1) * p.per_page
        limit = f"LIMIT {int(p.per_page)} OFFSET {int(offset)}"
        where, wargs = self._where(tsq)
        # Relevance ranks the best CANDIDATES by popularity. "+ 0" takes the popularity index out
        # of the planner's hands: sparse matches are gathered by the GIN index and sorted (see
        # WALK_ROWS and ``_walk_is_cheap``). Other sorts page by their own index; their base only
        # counts (up to CANDIDATES) and feeds the facets, so any CANDIDATES matches will do: the
        # planner then stops a bitmap or sequential scan as soon as it has them.
        fresh = False
        if p.sort == "relevance" and tsq:
            fresh = self._walk_is_cheap(where, wargs)
            popularity = "t.popularity" if fresh else "(t.popularity + 0)"
            base_order = f"ORDER BY {popularity} DESC, t.id DESC"
        else:
            base_order = ""
        cols = (
            "t.id, t.popularity, t.published_at, t.duration_seconds, t.bpm, t.genre_ids, t.mood_ids,"
            " t.instrument_ids, t.theme_ids, t.vocals, t.key, t.energy, t.explicit, t.sound_category_id"
        )
        if p.sort == "trending":  # paged within base when it holds every match
            cols += ", t.trending"
        rank = f"ts_rank('{RANK_WEIGHTS}', t.search_vector, to_tsquery('{TS_CONFIG}', %s))" if tsq else "0"
        candidates = f"""SELECT {cols}, t.search_vector FROM catalog_tracksearch t WHERE {where}
                     {base_order} LIMIT {CANDIDATES}"""
        args = ([tsq] if tsq else []) + wargs
        if fresh:  # the newest matches too (a track in both parts is kept once)
            candidates = f"""SELECT DISTINCT ON (t.id) * FROM (
                    ({candidates})
                    UNION ALL
                    (SELECT {cols}, t.search_vector FROM catalog_tracksearch t WHERE {where}
                      ORDER BY t.published_at DESC, t.id DESC LIMIT {FRESH_CANDIDATES})) t"""
            args += wargs
        ctes = [
            f"""base AS MATERIALIZED (
                SELECT {cols}, {rank} AS rank FROM ({candidates}) t)"""
        ]
        if p.sort == "relevance" and tsq:
            page_sql = f"SELECT id FROM base ORDER BY rank DESC, popularity DESC, id DESC {limit}"
            page_args = []
        else:
            order = SORTS.get(p.sort, SORTS["popular"])[1] or SORTS["popular"][1]
            page_sql = f"""
                (SELECT t.id FROM base t WHERE (SELECT count(*) FROM base) < {CANDIDATES}
                  ORDER BY {order} {limit})
                UNION ALL
                (SELECT t.id FROM catalog_tracksearch t
                  WHERE (SELECT count(*) FROM base) >= {CANDIDATES} AND {where}
                  ORDER BY {order} {limit})"""
            page_args = wargs
        # Facet sets: "all filters but its own" for each active dimension; the rest use base.
        # Bounded work, not just a bounded result: the planner cannot know that a tag pair never
        # occurs together (a walk then reads the whole table) or is very common (a bitmap then
        # reads a third of it). So the sets come, in one pass, from a bounded source: the text's
        # own matches (the first FACET_TEXT_ROWS, from the GIN index) when the dictionary says
        # the text matches at most FACET_SAMPLE tracks — exact for a rare word —, otherwise the
        # FACET_SAMPLE most popular tracks (consecutive pages of the clustered table). The filters
        # shared by every set (kind, ranges, text) are tested once per row, each dimension's own
        # filter becomes a flag column, and a set is the rows whose other flags are all true.
        set_for = {None: "base"}
        active = [dim for dim in FACET_DIMENSIONS if p.active(dim)]
        sample_complete = ""  # SQL: is the facet source every match of the shared filters?
        if active:
            conditions = self._conditions(tsq)
            common = [(c, a) for dim, c, a in conditions if dim not in active]
            own = {dim: [(c, a) for d, c, a in conditions if d == dim] for dim in active}
            flags = []
            for i, dim in enumerate(active):
                flags.append(f"({' AND '.join(c for c, _a in own[dim])}) AS f{i}")
                args += [v for _c, a in own[dim] for v in a]
            common_sql = " AND ".join(["TRUE", *(c for c, _a in common)])
            args += [v for _c, a in common for v in a]
            needed = " + ".join(f"f{i}::int" for i in range(len(active)))
            if tsq and self.matches is not None and self.matches <= FACET_SAMPLE:
                ctes.append(
                    f"""fsource AS MATERIALIZED (
                        SELECT {cols}, {", ".join(flags)} FROM catalog_tracksearch t
                         WHERE {common_sql} LIMIT {FACET_TEXT_ROWS})"""
                )
                source = "SELECT * FROM fsource"
                sample_complete = f"(SELECT count(*) FROM fsource) < {FACET_TEXT_ROWS}"
            else:
                source = f"""SELECT {cols}, {", ".join(flags)}
                               FROM (SELECT * FROM catalog_tracksearch
                                      ORDER BY popularity DESC, id DESC LIMIT {FACET_SAMPLE}) t
                              WHERE {common_sql} OFFSET 0"""
                sample_complete = f"reltuples <= {FACET_SAMPLE}"
            ctes.append(
                f"fsample AS MATERIALIZED (SELECT * FROM ({source}) s WHERE {needed} >= {len(active) - 1})"
            )
            for i, dim in enumerate(active):
                others = " AND ".join(["TRUE", *(f"f{j}" for j in range(len(active)) if j != i)])
                ctes.append(
                    f"""fs{i} AS MATERIALIZED (SELECT * FROM fsample WHERE {others}
                         ORDER BY popularity DESC, id DESC LIMIT {CANDIDATES})"""
                )
                set_for[dim] = f"fs{i}"
        facet_sql = []
        for dim in FACET_DIMENSIONS:
            src = set_for.get(dim, "base")
            if dim in TAXONOMY_DIMENSIONS:
                # unnest() in the select list (one ProjectSet node) rather than joined per row
                # (a function scan started 1,200 times): the tag facets cost about half.
                column = TAXONOMY_DIMENSIONS[dim][2]
                facet_sql.append(
                    f"SELECT '{dim}', v::text, count(*) FROM (SELECT unnest({column}) v FROM {src}) u"
                    " GROUP BY v"
                )
            elif dim == "category":
                facet_sql.append(
                    f"SELECT 'category', sound_category_id::text, count(*) FROM {src} "
                    "WHERE sound_category_id IS NOT NULL GROUP BY sound_category_id"
                )
            else:
                facet_sql.append(f"SELECT '{dim}', {dim}::text, count(*) FROM {src} GROUP BY {dim}")
        sizes = " UNION ALL ".join(
            f"SELECT '_size', '{name}', count(*) FROM {name}" for name in set_for.values()
        )
        if sample_complete:  # the facet sets are sampled unless their source held every match
            sizes += (
                f" UNION ALL SELECT '_size', 'sample', CASE WHEN {sample_complete} THEN 0"
                f" ELSE {CANDIDATES} END::bigint FROM pg_class WHERE oid = 'catalog_tracksearch'::regclass"
            )
        sql = f"""
            WITH {", ".join(ctes)},
                 page AS ({page_sql})
            SELECT '_total', '', (SELECT count(*) FROM base)
            UNION ALL SELECT '_page', id::text, row_number() OVER () FROM page
            UNION ALL {" UNION ALL ".join(facet_sql)}
            UNION ALL {sizes}
        """
        with connection.cursor() as cur:
            cur.execute(sql, args + page_args)
            rows = cur.fetchall()
        total, counts, sampled, page_rows = 0, {}, False, []
        for dim, value, n in rows:
            if dim == "_total":
                total = n
            elif dim == "_page":
                page_rows.append((n, int(value)))
            elif dim == "_size":
                sampled = sampled or n >= CANDIDATES
            else:
                counts.setdefault(dim, {})[value] = n
        # A full base means at least CANDIDATES matches: more than the count cap.
        total = COUNT_CAP if total >= CANDIDATES else total
        return [pk for _n, pk in sorted(page_rows)], total, counts, sampled


# --- SQLite (and any other database): simple matching ---------------------------------------------


class _SimpleSearch:
    """Without PostgreSQL: icontains over title, artist, album and tag names, then filters,
    facets, sorting and paging in Python over the best CANDIDATES matches by popularity (two
    queries; exact for a development catalogue of a few hundred tracks)."""

    FIELDS = (
        "pk",
        "title",
        "popularity",
        "trending",
        "published_at",
        "duration_seconds",
        "bpm",
        "vocals",
        "key",
        "energy",
        "explicit",
        "sound_category_id",
    )

    def __init__(self, params):
        self.params = params
        self.words = query_words(params.q)

    def _candidates(self):
        p = self.params
        qs = Track.objects.published()
        if p.kind:
            qs = qs.filter(kind=p.kind)
        for word in self.words:
            qs = qs.filter(
                pk__in=Track.objects.filter(
                    Q(title__icontains=word)
                    | Q(artist__name__icontains=word)
                    | Q(album__icontains=word)
                    | Q(genres__name__icontains=word)
                    | Q(moods__name__icontains=word)
                    | Q(instruments__name__icontains=word)
                    | Q(themes__name__icontains=word)
                    | Q(sound_category__name__icontains=word)
                ).values("pk")
            )
        rows = [
            dict(zip(self.FIELDS, r, strict=True))
            for r in qs.order_by("-popularity", "-pk").values_list(*self.FIELDS)[:CANDIDATES]
        ]
        for row in rows:
            row.update({dim: set() for dim in TAXONOMY_DIMENSIONS})
        by_id = {row["pk"]: row for row in rows}
        if by_id:
            parts = [
                getattr(Track, m2m)
                .through.objects.filter(track_id__in=list(by_id))
                .annotate(d=Value(dim))
                .values_list("d", "track_id", f"{model._meta.model_name}_id")
                .order_by()
                for dim, (model, m2m, _column) in TAXONOMY_DIMENSIONS.items()
            ]
            for dim, track_id, tag_id in parts[0].union(*parts[1:], all=True):
                by_id[track_id][dim].add(tag_id)
        return rows, len(rows) >= CANDIDATES

    def _matcher(self):
        p = self.params
        tag_ids = {
            dim: set(_slug_ids(dim, getattr(p, dim)) or [0]) for dim in TAXONOMY_DIMENSIONS if getattr(p, dim)
        }
        category_ids = set(_category_subtree_ids(p.category) or [0]) if p.category else None
        explicit = None if not p.explicit else p.explicit == "only"
        tests = {dim: (lambda row, dim=dim, ids=ids: bool(row[dim] & ids)) for dim, ids in tag_ids.items()}
        if category_ids is not None:
            tests["category"] = lambda row: row["sound_category_id"] in category_ids
        if p.vocals:
            tests["vocals"] = lambda row: row["vocals"] in p.vocals
        if p.key:
            tests["key"] = lambda row: row["key"] in p.key
        if p.energy:
            tests["energy"] = lambda row: row["energy"] in p.energy
        if explicit is not None:
            tests["explicit"] = lambda row: row["explicit"] == explicit
        ranges = [
            ("bpm", p.bpm_min, p.bpm_max),
            ("duration_seconds", p.duration_min, p.duration_max),
        ]
        for column, lo, hi in ranges:
            if lo is not None or hi is not None:
                tests[f"_{column}"] = lambda row, c=column, lo=lo, hi=hi: (
                    row[c] is not None and ((lo is None or row[c] >= lo) and (hi is None or row[c] <= hi))
                )

        def matches(row, exclude=None):
            return all(test(row) for name, test in tests.items() if name != exclude)

        return matches

    def run(self, queryset):
        """Search as typed; when that finds nothing, search again with the misspelled words
        corrected (the PostgreSQL search's "Showing results for …", by simpler means)."""
        result = self._run(queryset)
        if result.total or not self.words:
            return result
        typed, corrected = self.words, self._corrected_words()
        if not corrected or corrected == typed:
            return result
        self.words = corrected
        result = self._run(queryset)
        result.corrected_from = " ".join(typed)
        result.suggestion = "" if result.total else result.query
        return result

    def _corrected_words(self):
        """Each query word that no catalogue word contains, replaced by the closest catalogue word
        (titles, albums, artists, tag and category names; ``difflib``), or dropped when none is
        close. A development catalogue is a few hundred tracks: the words are read when needed."""
        vocabulary = set()
        for row in Track.objects.published().values_list("title", "album", "artist__name"):
            vocabulary.update(w.lower() for w in _WORD.findall(" ".join(filter(None, row))))
        for rows in taxonomy().values():
            vocabulary.update(w.lower() for row in rows for w in _WORD.findall(row[2]))
        vocabulary = sorted(w for w in vocabulary if len(w) > 1)
        out = []
        for word in self.words:
            if any(word in known for known in vocabulary):
                out.append(word)
            else:
                out += difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.75)
        return out

    def _run(self, queryset):
        p = self.params
        rows, sampled = self._candidates()
        matches = self._matcher()
        hits = [row for row in rows if matches(row)]
        if p.sort == "relevance" and self.words:
            first = self.words[0]
            hits.sort(key=lambda r: (first not in r["title"].lower(), -r["popularity"], -r["pk"]))
        else:
            order = SORTS.get(p.sort, SORTS["popular"])[2] or SORTS["popular"][2]
            for name in reversed(order):
                column, reverse = name.lstrip("-"), name.startswith("-")
                column = "pk" if column == "id" else column
                missing = [r for r in hits if r[column] is None]
                present = sorted(
                    (r for r in hits if r[column] is not None), key=lambda r: r[column], reverse=reverse
                )
                hits = present + missing
        total = len(hits)
        num_pages = _num_pages(total, p.per_page)
        page = min(_clamp_page(p), num_pages)
        offset = (page - 1) * p.per_page
        ids = [r["pk"] for r in hits[offset : offset + p.per_page]]
        counts = {}
        for dim in FACET_DIMENSIONS:
            got = counts.setdefault(dim, {})
            for row in rows:
                if not matches(row, exclude=dim):
                    continue
                if dim in TAXONOMY_DIMENSIONS:
                    values = row[dim]
                elif dim == "category":
                    values = [row["sound_category_id"]] if row["sound_category_id"] else []
                else:
                    values = [row[dim]]
                for v in values:
                    key = str(v).lower() if isinstance(v, bool) else str(v)
                    got[key] = got.get(key, 0) + 1
        return SearchResult(
            tracks=_load_rows(ids, queryset),
            total=min(total, COUNT_CAP),
            total_capped=total >= COUNT_CAP,
            page=page,
            per_page=p.per_page,
            num_pages=num_pages,
            facets=_facets_from_counts(p, counts),
            facets_sampled=sampled,
            query=" ".join(self.words),
        )


# --- autocomplete ---------------------------------------------------------------------------------


@dataclass
class Suggestions:
    query: str
    words: list  # completed query texts
    tags: list  # (dimension, slug, name)
    artists: list  # Artist
    tracks: list  # Track (artist joined)

    def __bool__(self):
        return bool(self.words or self.tags or self.artists or self.tracks)


def autocomplete(q, *, kind="", limit=5) -> Suggestions:
    """Suggestions for the header search box: query completions, matching genres/moods/…,
    artists and tracks. PostgreSQL: at most four small indexed queries."""
    words = query_words(q)
    if not words:
        return Suggestions("", [], [], [], [])
    last = words[-1]
    head = " ".join(words[:-1])
    tags = []
    for dim in TAXONOMY_DIMENSIONS:
        for _pk, slug, name in taxonomy()[dim]:
            if len(words) == 1 and name.lower().startswith(last):
                tags.append((dim, slug, name))
    tags = tags[:limit]
    tracks_qs = Track.objects.published().select_related("artist")
    # Artists with something to hear: not one staff have set up ahead of a release.
    heard = Artist.objects.filter(Exists(Track.objects.published().filter(artist=OuterRef("pk"))))
    if kind:
        tracks_qs = tracks_qs.filter(kind=kind)
    if connection.vendor == "postgresql":
        searched, begun, _matches = correct_words(words)
        completions = (begun or [])[:limit] if searched and searched[-1] == last else []
        tsq = _tsquery(searched, begun)
        track_rows = (
            list(
                tracks_qs.extra(
                    where=[f"catalog_track.search_vector @@ to_tsquery('{TS_CONFIG}', %s)"], params=[tsq]
                ).order_by("-popularity")[:limit]
            )
            if tsq
            else []
        )
        artists = list(heard.extra(where=["lower(name) LIKE %s"], params=[last + "%"]).order_by("name")[:3])
    else:
        completions = []
        track_rows = list(
            tracks_qs.filter(Q(title__icontains=last) | Q(artist__name__icontains=last)).order_by(
                "-popularity"
            )[:limit]
        )
        artists = list(heard.filter(name__istartswith=last).order_by("name")[:3])
    texts = [f"{head} {w}".strip() for w in completions if w != last][: limit - 1]
    return Suggestions(" ".join(words), texts, tags, artists, track_rows)
