"""Template helpers for catalogue pages: signed preview links and waveform drawings."""

import json
from functools import lru_cache
from html import escape  # the same five characters as django.utils.html.escape, without its lazy-string check
from urllib.parse import quote

from django import template
from django.utils.safestring import mark_safe

from allmytracks.links import cached_reverse
from catalog import previews

register = template.Library()

MINI_W, MINI_H = 200, 40
FACET_SHOWN = 8  # facet options listed before "Show N more"
WAVE_W, WAVE_H = 600, 80


@register.simple_tag
def preview_url(version):
    """The signed, expiring preview URL of a version (or a version id); '' when there is none."""
    if not version:
        return ""
    return previews.preview_url(getattr(version, "pk", version))


def mini_wave_path(bars):
    """An SVG path (viewBox 0 0 200 40) drawing up to 100 bars of heights 0–100, centred.

    Whole units: a row draws it 40 px high, so a unit is a pixel, and a row's path stays under
    a kilobyte (a page carries 24–48 of them)."""
    if not bars:
        return ""
    step = MINI_W / len(bars)
    mid = MINI_H // 2
    parts = []
    for i, value in enumerate(bars):
        half = max(1, round(value / 100 * (mid - 1)))
        x = i * step + step / 2
        x_text = f"{x:.0f}" if x == int(x) else f"{x:.1f}"
        parts.append(f"M{x_text} {mid - half}V{mid + half}")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only


@register.filter
def peaks_path(peaks, bars=150):
    """An SVG path (viewBox 0 0 600 80) of ``bars`` min/max bars from ~1000 [min, max] pairs."""
    if not peaks:
        return ""
    bars = int(bars)
    n = len(peaks)
    bars = min(bars, n)
    step = WAVE_W / bars
    mid = WAVE_H / 2
    top = max(1, max(max(abs(lo), abs(hi)) for lo, hi in peaks))
    parts = []
    for i in range(bars):
        chunk = peaks[i * n // bars : max((i + 1) * n // bars, i * n // bars + 1)]
        lo = min(p[0] for p in chunk) / top
        hi = max(p[1] for p in chunk) / top
        y1 = mid - max(hi, 0.02) * (mid - 1)
        y2 = mid - min(lo, -0.02) * (mid - 1)
        x = i * step + step / 2
        parts.append(f"M{x:.1f} {y1:.1f}V{y2:.1f}")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only


@register.filter
def seconds(value):
    """83.4 → '1:23'; under a second, tenths: 0.12 → '0.1 s'."""
    value = float(value or 0)
    if 0 < value < 1:
        return f"{max(value, 0.1):.1f} s"
    total = int(round(value))
    return f"{total // 60}:{total % 60:02d}"


@register.filter
def khz(value):
    """A sample rate in hertz as people write it: 44100 → '44.1 kHz', 48000 → '48 kHz'."""
    try:
        return f"{float(value) / 1000:g} kHz"
    except (TypeError, ValueError):
        return ""


@register.filter
def in_set(value, collection):
    return value in (collection or ())


# --- one result row, built in Python ----------------------------------------------------------
# ``catalog/_track_row.html`` renders through ``track_row``: a page of 24–48 rows is the hot path
# of the search page, and the same row through the template language cost more than the search's
# SQL (≈80 variable lookups, five URL reversals and an include per row).

_MINI_WAVE_CACHE = {}
_MINI_WAVE_CACHE_SIZE = 4096
_PLAY_ICONS = (
    '<svg class="i-play" viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>\n'
    '      <svg class="i-pause" viewBox="0 0 24 24" aria-hidden="true">'
    '<path d="M7 5h4v14H7zM13 5h4v14h-4z"/></svg>'
)
_HEART = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 21s-7.5-4.6-9.5-9.1C1.1 8.6 3.2 5 6.7 5c2 0 '
    '3.4 1.1 4.3 2.4h2C13.9 6.1 15.3 5 17.3 5c3.5 0 5.6 3.6 4.2 6.9C19.5 16.4 12 21 12 21z"/></svg>'
)

# A list with a plus (the track page's "Add to playlist" icon).
_PLAYLIST_ICON = (
    '<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"'
    ' stroke-linecap="round"><path d="M4 6h12M4 12h12M4 18h7M18 15v6M15 18h6"/></svg>'
)


def cached_mini_wave_path(track):
    """``mini_wave_path`` of a track's waveform, kept per (track, updated_at) in the process: the
    drawing only changes when ingest rewrites the waveform, which also moves ``updated_at``."""
    key = (track.pk, getattr(track, "updated_at", None))
    path = _MINI_WAVE_CACHE.get(key)
    if path is None:
        path = mini_wave_path(track.waveform)
        if len(_MINI_WAVE_CACHE) >= _MINI_WAVE_CACHE_SIZE:
            _MINI_WAVE_CACHE.clear()
        _MINI_WAVE_CACHE[key] = path
    return path


_SLUG = "__slug__"


class _RowKit:
    """What every row of one render shares, worked out once per render (see ``_row_kit``)."""

    __slots__ = (
        "track_url",
        "artist_url",
        "preview_url",
        "signed_in",
        "fav",
        "login_button",
        "playlists",
        "licensed",
    )


def _row_kit(context):
    """The track and artist URL patterns (escaped; slugs go in escaped), the preview link maker,
    whether the visitor is signed in (the user is a lazy object, costly to ask 24–48 times) and the
    parts of the favourite button that are the same on every row — once per page: kept on the
    Context (like the waveform counter), since rows included one by one each get a fresh
    ``render_context``."""
    kit = getattr(context, "catalog_row_kit", None)
    if kit is not None:
        return kit
    kit = context.catalog_row_kit = _RowKit()
    kit.track_url = escape(cached_reverse("catalog:track-detail", _SLUG))
    kit.artist_url = escape(cached_reverse("catalog:artist-detail", _SLUG))
    kit.preview_url = previews.preview_url_maker()
    user = context.get("user")
    kit.signed_in = bool(user is not None and user.is_authenticated)
    request = context.get("request")
    here = request.get_full_path() if request is not None else ""
    kit.fav = kit.login_button = kit.playlists = None
    kit.licensed = context.get("licensed_ids") or ()  # catalog.services.row_marks
    if kit.signed_in:
        csrf = context.get("csrf_token")
        csrf_input = ""
        if csrf:
            csrf_input = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(csrf))}">'
        kit.fav = (escape(cached_reverse("catalog:favourite-toggle", _SLUG)), csrf_input, escape(here))
        pattern = cached_reverse("catalog:track-playlists", _SLUG) + "?next=" + quote(here, safe="/")
        kit.playlists = escape(pattern)
    else:
        login = cached_reverse("account_login")
        if request is not None:
            login += "?next=" + quote(here, safe="/")
        kit.login_button = (
            f'<a class="fav-btn" href="{escape(login)}" title="Sign in to save favourites">\n'
            f"  {_HEART}\n"
            '  <span class="visually-hidden">Sign in to save {title} to favourites</span>\n</a>'
        )
    return kit


def _fav_button(kit, track, title, favourited):
    """The favourite toggle (``catalog/_favourite_button.html``'s markup) or, signed out, the
    sign-in link."""
    if not kit.signed_in:
        return kit.login_button.replace("{title}", title or "tracks")
    action_pattern, csrf_input, next_value = kit.fav
    action = action_pattern.replace(_SLUG, escape(track.slug))
    on = " is-on" if favourited else ""
    pressed = "true" if favourited else "false"
    hint = "Remove from favourites" if favourited else "Add to favourites"
    label = f"Remove {title} from favourites" if favourited else f"Add {title} to favourites"
    return (
        f'<form class="fav-form" method="post" action="{action}"\n'
        f'      hx-post="{action}" hx-target="this" hx-select="unset" hx-swap="outerHTML"'
        ' hx-push-url="false">\n'
        f'  {csrf_input}<input type="hidden" name="next" value="{next_value}">'
        f'<input type="hidden" name="on" value="{"0" if favourited else "1"}">\n'
        f'  <button type="submit" class="fav-btn{on}" aria-pressed="{pressed}"\n'
        f'          title="{hint}">\n    {_HEART}\n'
        f'    <span class="visually-hidden">{label}</span>\n  </button>\n</form>'
    )


def _rounded(value):
    """0.5 up, like ``floatformat:0`` (``round`` would go to even)."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


@lru_cache(maxsize=1024)
def _tag_span(name, css_class):
    """A row's genre or mood label (a few hundred names in all, so each is escaped once)."""
    return f'<span class="{css_class}">{escape(name)}</span>'


@register.simple_tag(takes_context=True)
def track_row(context, track, favourited=False, compact=False):
    """The HTML of one result row (the markup documented in ``catalog/_track_row.html``)."""
    return mark_safe(_row_html(context, _row_kit(context), track, favourited, compact))  # noqa: S308 - escaped there


def _row_html(context, kit, track, favourited, compact):
    track_url, artist_url = kit.track_url, kit.artist_url
    version_id = track.card_version_id
    src = escape(kit.preview_url(version_id)) if version_id else ""
    title = escape(track.title)
    artist = track.artist
    artist_name = escape(artist.name)
    url = track_url.replace(_SLUG, escape(track.slug))
    artist_url = artist_url.replace(_SLUG, escape(artist.slug))
    art = escape(track.artwork_small.url) if track.artwork_small else ""
    row_class = "track-row is-compact" if compact else "track-row"
    out = [f'<article class="{row_class}" data-track-row="{track.pk}">\n  <div class="tr-art">\n    ']
    if art:
        out.append(f'<img src="{art}" alt="" width="56" height="56" loading="lazy" decoding="async">')
    else:
        out.append(f'<span class="art-placeholder" aria-hidden="true">{escape(track.title[:1])}</span>')
    if src:
        length = track.card_version_duration or 0
        data_art = f' data-art="{art}"' if art else ""
        out.append(
            f'\n    <a class="tr-play" href="{src}" role="button" hx-boost="false" data-play'
            f' data-track="{track.pk}"\n'
            f'       data-title="{title}" data-artist="{artist_name}" data-href="{url}"\n'
            f'       data-artist-href="{artist_url}" data-duration="{_rounded(length * 10) / 10:.1f}"\n'
            f"       {data_art}\n"
            f'       aria-label="Play {title} by {artist_name}">\n      {_PLAY_ICONS}\n    </a>'
        )
    out.append(
        f'\n  </div>\n  <div class="tr-meta">\n    <a class="tr-title" href="{url}">{title}</a>\n'
        f'    <a class="tr-artist" href="{artist_url}">{artist_name}</a>\n    '
    )
    if not compact:
        out.append('<div class="tr-tags">')
        if track.is_sfx and track.sound_category_id and track.sound_category:
            out.append(f'<span class="tag">{escape(track.sound_category.name)}</span>')
        out.extend(_tag_span(tag.name, "tag") for tag in track.tags["genre"][:2])
        out.extend(_tag_span(tag.name, "tag tag-soft") for tag in track.tags["mood"][:2])
        out.append("</div>")
    if src:
        wave_attrs = (
            f' role="slider" tabindex="0" aria-label="Seek in {title}" aria-valuemin="0"'
            f' aria-valuemax="{_rounded(length)}" aria-valuenow="0"'
            f' aria-valuetext="0:00 of {seconds(length)}"'
        )
    else:
        wave_attrs = ' aria-hidden="true"'
    # The drawing once, used twice: the whole wave and, clipped to the played part, the progress.
    # Its id is unique in the page: rows rendered through separate includes share the Context.
    context.catalog_rows = getattr(context, "catalog_rows", 0) + 1
    wave_id = f"{track.pk}-{context.catalog_rows}"
    out.append(
        f'\n  </div>\n  <div class="tr-wave wave" data-wave data-track="{track.pk}"{wave_attrs}>\n'
        '    <svg viewBox="0 0 200 40" preserveAspectRatio="none" focusable="false" aria-hidden="true">'
        f'<defs><path id="wave-{wave_id}" d="{cached_mini_wave_path(track)}"/></defs>'
        f'<use href="#wave-{wave_id}" class="wave-bg"/><use href="#wave-{wave_id}" class="wave-fg"/></svg>\n'
        '  </div>\n  <div class="tr-facts">\n'
        f'    <span class="tr-duration">{seconds(track.duration_seconds)}</span>\n'
    )
    if track.bpm:
        out.append(f'    <span class="tr-bpm">{track.bpm} <abbr title="beats per minute">BPM</abbr></span>\n')
    if track.key:
        out.append(f'    <span class="tr-key">{escape(track.key_label)}</span>\n')
    out.append("  </div>\n")
    if not compact:
        button = _fav_button(kit, track, title, favourited)
        if kit.playlists:  # signed in: the track's playlists form, back here after saving
            href = kit.playlists.replace(_SLUG, escape(track.slug))
            button += (
                f'\n    <a class="tr-playlist" href="{href}" title="Add to playlist">{_PLAYLIST_ICON}'
                f'<span class="visually-hidden">Add {title} to a playlist</span></a>'
            )
        if track.pk in kit.licensed:  # the visitor holds a licence: another project is a new one
            licence = (
                f'<a class="btn btn-sm btn-secondary is-licensed" href="{url}"'
                f' title="You hold a licence for this track">Licensed<span class="visually-hidden">:'
                f" {title}</span></a>"
            )
        else:
            licence = f'<a class="btn btn-sm btn-secondary" href="{url}">Licence</a>'
        out.append(f'  <div class="tr-actions">\n    {button}\n    {licence}\n  </div>\n')
    out.append("</article>")
    return "".join(out)  # every value above is escaped


@register.simple_tag(takes_context=True)
def track_rows(context, tracks, favourite_ids=()):
    """The ``<li>`` items of a result list: one ``track_row`` each, favourites marked (one tag for
    the list instead of a template loop: 24–48 iterations of ``{% for %}`` cost ~1.5 ms)."""
    favourite_ids = favourite_ids or ()
    kit = _row_kit(context)
    return mark_safe(  # noqa: S308 - built by _row_html, which escapes every value
        "\n".join(
            f'<li class="track-list-item">{_row_html(context, kit, t, t.pk in favourite_ids, False)}</li>'
            for t in tracks
        )
    )


@register.simple_tag
def facet_groups(groups):
    """Every facet group of the search page's filters: a ``<details>`` (open when ``open``) with a
    fieldset of ``facet_options``. Built in Python with the options (see there)."""
    out = []
    for group in groups:
        title = escape(group["title"])
        grid = " facet-grid" if group["name"] == "key" else ""
        is_open = " open" if group["open"] else ""
        out.append(
            f'<details class="facet" data-facet-group="{escape(group["name"])}"{is_open}>\n'
            f"    <summary>{title}</summary>\n    <fieldset>\n"
            f'      <legend class="visually-hidden">{title}</legend>\n'
            f'      <div class="facet-options{grid}">\n{facet_options(group)}\n      </div>\n'
            "    </fieldset>\n  </details>"
        )
    return mark_safe("\n  ".join(out))  # noqa: S308 - every value is escaped here or in facet_options


def facet_options(group):
    """The checkboxes of one facet group (``name`` and ``values``: FacetValue list) of the search
    form (``form="search-form"``: the filters sit outside its element, see ``search.html``), built
    in Python: a search page shows ~170 of them, and through the template language they cost as much as
    the rows. Past the first ``FACET_SHOWN`` (and any selected one), options sit in a "Show N
    more" disclosure, open without JavaScript; keys stay a compact grid."""
    name = escape(group["name"])
    shown, more = [], []
    collapse = group["name"] != "key"
    for i, v in enumerate(group["values"], 1):
        head, middle = _facet_option_parts(group["name"], v.value, v.label)
        checked = " checked" if v.selected else ""
        (more if collapse and i > FACET_SHOWN and not v.selected else shown).append(
            f"{head}{checked}{middle}{v.count_label}</span></label>"
        )
    if more:
        what = escape(group.get("title", "").lower())
        shown.append(
            f'<details class="facet-more" data-facet="{name}"><summary>'
            f'<span class="more-closed">Show {len(more)} more</span><span class="more-open">Show fewer</span>'
            f'<span class="visually-hidden"> {what} options</span></summary>\n'
            + "\n".join(more)
            + "\n</details>"
        )
    return mark_safe("\n".join(shown))  # noqa: S308 - every value above is escaped


@lru_cache(maxsize=4096)
def _facet_option_parts(name, value, label):
    """The escaped markup of one facet option around its checked state and count. Options are the
    catalogue's taxonomy and fixed values (a few hundred), so each is built once per process."""
    name, value = escape(name), escape(value)
    return (
        f'<label class="facet-option"><input form="search-form" type="checkbox" name="{name}"'
        f' value="{value}" id="f-{name}-{value}"',
        f'><span class="facet-label">{escape(label)}</span><span class="facet-count">',
    )


@register.simple_tag
def select_options(options):
    """``<option>`` elements of a ``<select>`` from (value, label, selected) triples."""
    out = []
    for value, label, selected in options:
        chosen = " selected" if selected else ""
        out.append(f'<option value="{escape(str(value))}"{chosen}>{escape(str(label))}</option>')
    return mark_safe("".join(out))  # noqa: S308 - every value is escaped


@register.simple_tag
def page_links(links, current, list_url):
    """The numbered links of the search pagination: (number, "?query") pairs, None for a gap; each
    one a plain link that htmx turns into an in-place swap of the results."""
    out = []
    list_url = escape(list_url)
    for number, url in links:
        if number is None:
            out.append('<span class="gap" aria-hidden="true">…</span>')
        elif number == current:
            out.append(f'<span class="btn btn-sm current" aria-current="page">{number}</span>')
        else:
            url = escape(url)
            out.append(
                f'<a class="btn btn-secondary btn-sm" href="{url}" hx-get="{list_url}{url}"'
                f' hx-target="#search-body" hx-push-url="{list_url}{url}" hx-swap="innerHTML show:window:top"'
                f' aria-label="Page {number}">{number}</a>'
            )
    return mark_safe("\n    ".join(out))  # noqa: S308 - every value is escaped


@register.simple_tag(takes_context=True)
def track_structured_data(context, track):
    """The track as schema.org data (a ``MusicRecording``), for search engines: a data block,
    never run as script (so the Content-Security-Policy has nothing to allow)."""
    from django.conf import settings
    from django.core.serializers.json import DjangoJSONEncoder
    from django.utils.html import _json_script_escapes

    site = settings.SITE_URL.rstrip("/")
    data = {
        "@context": "https://schema.org",
        "@type": "MusicRecording",
        "name": track.title,
        "url": site + track.get_absolute_url(),
        "byArtist": {
            "@type": "MusicGroup",
            "name": track.artist.name,
            "url": site + track.artist.get_absolute_url(),
        },
    }
    if track.duration_seconds:
        total = int(round(track.duration_seconds))
        data["duration"] = f"PT{total // 60}M{total % 60}S"
    genres = [tag.name for tag in track.tags.get("genre", [])] if hasattr(track, "tags") else []
    if genres:
        data["genre"] = genres
    if track.artwork:
        url = track.artwork.url
        data["image"] = url if "://" in url else site + url
    if track.isrc:
        data["isrcCode"] = track.isrc
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_json_script_escapes)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 - escaped for a script element
