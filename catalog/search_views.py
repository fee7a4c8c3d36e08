"""The search pages: /tracks/ (music), /sounds/ (sound effects) and the header's autocomplete.

Every state is in the URL. A request from htmx (not a history restore) gets the results partial
alone; the back button asks for the full page again (htmx history restore), so bookmarks, shares
and history all work without JavaScript too.
"""

from dataclasses import replace

from django.conf import settings
from django.http import QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from allmytracks import ratelimit
from allmytracks.links import cached_reverse

from . import services
from .forms import SearchForm
from .search import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    RESULT_WINDOW,
    SORTS,
    default_sort,
    search_tracks,
)
from .search import (
    autocomplete as autocomplete_suggestions,
)

PAGES = {
    "music": {
        "url_name": "catalog:track-list",
        "title": "Royalty-free music",
        "lead": "Search by mood, genre, instrument or tempo — preview anything, licence it per project.",
        "placeholder": "Search music: mood, genre, instrument, title…",
    },
    "sfx": {
        "url_name": "catalog:sound-list",
        "title": "Sound effects",
        "lead": "Foley, ambiences, interface sounds and more, organised by category.",
        "placeholder": "Search sound effects: rain, door, whoosh…",
    },
}
FACET_TITLES = [
    ("genre", "Genre"),
    ("mood", "Mood"),
    ("instrument", "Instrument"),
    ("theme", "Theme"),
    ("vocals", "Vocals"),
    ("energy", "Energy"),
    ("key", "Key"),
]


def _rate(name, default):
    return getattr(settings, name, default)


def _limited(request, scope, setting, default):
    """The 429 page when this IP or account searches faster than a person does (II.IV.7)."""
    wait = ratelimit.check(request, scope, _rate(setting, default))
    if wait:
        from allmytracks.views import too_many_requests

        return too_many_requests(request, retry_after=wait)
    return None


def _query_without(get, *names):
    q = get.copy()
    for name in names:
        q.pop(name, None)
    return q


def _elsewhere(kind, params, result):
    """When words find nothing here, whether they find sound effects (or music) instead: the
    header and home search boxes search music, and “whoosh” is a sound. One more search, only
    for an empty page of words without filters — the very search the link opens (the same
    parameters, so the page it leads to comes from the remembered results, not a second run).
    {"count", "capped", "url", "label"} or None."""
    if result.total or not params.q or params.has_filters:
        return None
    other = "sfx" if kind == "music" else "music"
    found = search_tracks(SearchForm(QueryDict(urlencode({"q": params.q})), kind=other).params())
    if not found.total:
        return None
    return {
        "count": found.total,
        "capped": found.total_capped,
        "url": f"{cached_reverse(PAGES[other]['url_name'])}?{urlencode({'q': params.q})}",
        "label": "sound effect" if other == "sfx" else "track",
    }


def _search_page(request, kind):
    limited = _limited(request, "search", "CATALOG_SEARCH_RATE", "60/m")
    if limited:
        return limited
    form = SearchForm(request.GET, kind=kind)
    params = form.params()
    result = search_tracks(params)
    if result.page != params.page:  # a page past the end shows (and links) the last page
        params = replace(params, page=result.page)
    marks = services.row_marks(request.user, result.tracks)
    page = PAGES[kind]

    canonical = canonical_query(params)
    base_query = _query_without(canonical, "page")

    base_text = base_query.urlencode()  # encoded once: a page links up to nine other pages

    def page_url(number):
        if number <= 1:
            return f"?{base_text}" if base_text else "?"
        return f"?{base_text}&page={number}" if base_text else f"?page={number}"

    facet_groups = []
    for dim, title in FACET_TITLES:
        if kind == "sfx" and dim in ("vocals", "key", "energy", "instrument"):
            continue
        values = result.facets.get(dim, [])
        if values:
            is_open = len(facet_groups) < 3 or any(v.selected for v in values)
            facet_groups.append({"name": dim, "title": title, "values": values, "open": is_open})
    active_chips = []
    for group in facet_groups:
        for value in group["values"]:
            if value.selected:
                q = base_query.copy()
                q.setlist(group["name"], [v for v in q.getlist(group["name"]) if v != value.value])
                active_chips.append((f"{group['title']}: {value.label}", f"?{q.urlencode()}"))
    for name, label in (("bpm", "BPM"), ("duration", "Seconds")):
        lo, hi = getattr(params, f"{name}_min"), getattr(params, f"{name}_max")
        if lo is not None or hi is not None:
            q = _query_without(base_query, f"{name}_min", f"{name}_max")
            text = f"{lo if lo is not None else ''}–{hi if hi is not None else ''}"
            active_chips.append((f"{label}: {text}", f"?{q.urlencode()}"))
    if params.explicit:
        label = "Hide explicit" if params.explicit == "no" else "Explicit only"
        active_chips.append((label, f"?{_query_without(base_query, 'explicit').urlencode()}"))
    if params.category:
        label = next((v.label for v in result.facets.get("category", []) if v.selected), params.category)
        active_chips.append((f"Category: {label}", f"?{_query_without(base_query, 'category').urlencode()}"))

    context = {
        "kind": kind,
        "elsewhere": _elsewhere(kind, params, result),
        "page_info": page,
        "page_title": _page_title(page, params, _landing_title(kind, params, facet_groups, result)),
        "list_url": request.path,
        "params": params,
        "result": result,
        "tracks": result.tracks,
        **marks,
        "facet_groups": facet_groups,
        "categories": result.facets.get("category", []) if kind == "sfx" else [],
        "explicit_facets": result.facets.get("explicit", []) if kind == "music" else [],
        "active_chips": active_chips,
        "clear_url": f"?{urlencode({'q': params.q})}" if params.q else "?",
        "sorts": _sort_options(params),
        "page_sizes": [(n, f"{n} per page", n == params.per_page) for n in PAGE_SIZES],
        "page_links": [(n, page_url(n)) if n else (None, None) for n in result.page_range()],
        "prev_url": page_url(result.page - 1) if result.has_previous else "",
        "next_url": page_url(result.page + 1) if result.has_next else "",
        "result_window_label": f"{RESULT_WINDOW:,}",
        "window_reached": result.total_capped and not result.has_next,
    }
    if request.htmx and not request.htmx.history_restore_request:
        # The partial carries the page's <title>: htmx takes it for the tab as the results change.
        response = render(request, "catalog/_results.html", {**context, "partial": True})
    else:
        response = render(request, "catalog/search.html", context)
    if request.htmx:
        # Every state has one URL: no empty fields, no defaults, page past the end corrected.
        response["HX-Push-Url"] = f"{request.path}?{canonical.urlencode()}" if canonical else request.path
    patch_vary_headers(response, ["HX-Request"])
    return response


LANDING_WORDS = {
    "genre": "{} music",
    "mood": "{} music",
    "instrument": "Music with {}",
    "theme": "Music for {}",
}


def _landing_title(kind, params, facet_groups, result):
    """The page's own title when it is one genre, mood, instrument, theme or sound category and
    nothing else ("Lo-fi music", "Rain sound effects") — the landing pages the sitemap lists."""
    chosen = [
        (group["name"], value.label) for group in facet_groups for value in group["values"] if value.selected
    ]
    if kind == "sfx":
        if params.category and not params.q and not chosen and not params.has_filters_besides("category"):
            label = next((v.label for v in result.facets.get("category", []) if v.selected), "")
            return f"{label} sound effects" if label else ""
        return ""
    if params.q or len(chosen) != 1 or params.has_filters_besides(chosen[0][0]):
        return ""
    dimension, label = chosen[0]
    words = LANDING_WORDS.get(dimension)
    return words.format(label if dimension in ("genre", "mood") else label.lower()) if words else ""


def _page_title(page, params, landing):
    """The tab's title: the landing page's own ("Lo-fi music"), or the words searched, then the page."""
    if landing:
        return f"{landing} · {page['title']}"
    if params.q:
        return f"“{params.q}” · {page['title']}"
    return page["title"]


def _sort_options(params):
    """The sort menu. Its first entry (value "") is the default: best match for a text search,
    most popular otherwise — so typing a query after browsing switches to relevance."""
    default = default_sort(params.q)
    selected = "" if params.sort == default else params.sort
    # Sound effects have no tempo: no BPM sorts on their page (unless a shared link asks for one).
    hidden = {"bpm", "-bpm"} - {selected} if params.kind == "sfx" else set()
    options = [("", SORTS[default][0])]
    options += [(k, v[0]) for k, v in SORTS.items() if k not in (default, "relevance", *hidden)]
    return [(value, label, value == selected) for value, label in options]


def canonical_query(params):
    """The query string for a search: only what differs from the defaults, in a stable order."""
    q = QueryDict(mutable=True)
    if params.q:
        q["q"] = params.q
    for name in ("genre", "mood", "instrument", "theme", "vocals", "key", "energy"):
        values = [str(v) for v in getattr(params, name)]
        if values:
            q.setlist(name, values)
    for name in ("category", "explicit"):
        if getattr(params, name):
            q[name] = getattr(params, name)
    for name in ("bpm_min", "bpm_max", "duration_min", "duration_max"):
        if getattr(params, name) is not None:
            q[name] = str(getattr(params, name))
    if params.sort != default_sort(params.q):
        q["sort"] = params.sort
    if params.per_page != DEFAULT_PAGE_SIZE:
        q["per_page"] = str(params.per_page)
    if params.page > 1:
        q["page"] = str(params.page)
    return q


@require_safe
def track_list(request):
    return _search_page(request, "music")


@require_safe
def sound_list(request):
    return _search_page(request, "sfx")


@require_safe
def autocomplete(request):
    limited = _limited(request, "autocomplete", "CATALOG_AUTOCOMPLETE_RATE", "240/m")
    if limited:
        return limited
    q = str(request.GET.get("q", ""))[:100]
    kind = request.GET.get("kind", "")
    suggestions = autocomplete_suggestions(q, kind=kind if kind in ("music", "sfx") else "")
    response = render(request, "catalog/_autocomplete.html", {"s": suggestions, "q": q})
    patch_vary_headers(response, ["HX-Request"])
    return response
