"""Catalogue forms. ``SearchForm`` turns any query string into a valid search: it never errors.

Bad input is normalised rather than refused, because a search URL is typed, pasted, bookmarked
and crawled: SQL or tsquery syntax is reduced to words by the search itself, very long text is cut,
unknown filter values are dropped, reversed ranges are swapped, negative numbers are ignored,
non-numeric values are ignored, and a page past the end becomes the last page (in the search).
"""

from django import forms

from allmytracks.forms import OwnChoicesField
from allmytracks.numbers import whole_number

from .models import Playlist, Track
from .search import (
    DEFAULT_PAGE_SIZE,
    ENERGY_LABELS,
    MAX_QUERY_LENGTH,
    PAGE_SIZES,
    SORTS,
    TAXONOMY_DIMENSIONS,
    SearchParams,
    default_sort,
    taxonomy,
)
from .services import PLAYLIST_MOVES

MAX_BPM = 300
MAX_DURATION = 3 * 3600
MAX_PAGE = 10_000


def _int_or_none(value, *, maximum):
    """A non-negative whole number from text, or None for anything else ("", "abc", "-5", "1e9")."""
    number = whole_number(value, max_digits=7)
    return None if number is None else min(number, maximum)


def _range(low, high):
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


class SearchForm:
    """Bound to ``request.GET``. Always valid; ``params()`` gives the normalised search.

    Not a ``django.forms.Form``: nothing here is rendered (the search page builds its own controls
    from ``SearchParams``) and nothing is refused, and a Form would copy its field objects on every
    search. Multi-valued filters are checked against what the catalogue knows.
    """

    def __init__(self, data=None, *, kind=""):
        self.data = data if data is not None else {}
        self.kind = kind

    def _list(self, name, allowed, *, limit=30):
        getter = getattr(self.data, "getlist", None)
        if getter:
            values = getter(name)
        else:
            values = self.data.get(name, [])
            values = list(values) if isinstance(values, (list, tuple)) else [values]
        seen = []
        for value in values[:limit]:
            value = str(value).strip()[:80]
            if value in allowed and value not in seen:
                seen.append(value)
        return tuple(seen)

    def _one(self, name, allowed, default=""):
        value = str(self.data.get(name, "") or "").strip()[:80]
        return value if value in allowed else default

    def params(self) -> SearchParams:
        data = self.data
        tax = taxonomy()
        q = " ".join(str(data.get("q", "") or "").split())[:MAX_QUERY_LENGTH]
        kind = self.kind or self._one("kind", {c for c, _ in Track.Kind.choices})
        filters = {dim: self._list(dim, {row[1] for row in tax[dim]}) for dim in TAXONOMY_DIMENSIONS}
        bpm = _range(
            _int_or_none(data.get("bpm_min"), maximum=MAX_BPM),
            _int_or_none(data.get("bpm_max"), maximum=MAX_BPM),
        )
        duration = _range(
            _int_or_none(data.get("duration_min"), maximum=MAX_DURATION),
            _int_or_none(data.get("duration_max"), maximum=MAX_DURATION),
        )
        sort = self._one("sort", set(SORTS), default="")
        if not sort or (sort == "relevance" and not q):
            sort = default_sort(q)
        per_page = _int_or_none(data.get("per_page"), maximum=1000)
        return SearchParams(
            q=q,
            kind=kind,
            **filters,
            category=self._one("category", {row[1] for row in tax["category"]}),
            vocals=self._list("vocals", {c for c, _ in Track.Vocals.choices}),
            key=self._list("key", set(Track.KEYS)),
            energy=tuple(int(e) for e in self._list("energy", {str(e) for e in ENERGY_LABELS})),
            explicit=self._one("explicit", {"no", "only"}),
            bpm_min=bpm[0],
            bpm_max=bpm[1],
            duration_min=duration[0],
            duration_max=duration[1],
            sort=sort,
            page=max(1, _int_or_none(data.get("page"), maximum=MAX_PAGE) or 1),
            per_page=per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        )


# --- playlists --------------------------------------------------------------------------------


class PlaylistForm(forms.Form):
    title = forms.CharField(label="Playlist name", max_length=80, strip=True)


class TrackPlaylistsForm(forms.Form):
    """Which of the member's playlists hold a track, and optionally a new one for it. Only the
    member's own playlists are choices: another account's id is refused as an invalid choice."""

    playlists = OwnChoicesField(
        label="Your playlists",
        queryset=Playlist.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    new_title = forms.CharField(label="New playlist", max_length=80, required=False, strip=True)
    # The playlists the page listed: a box left unticked takes the track off only those, not off a
    # playlist made since (in another tab) that the page never showed.
    shown = forms.Field(widget=forms.MultipleHiddenInput, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playlists"].queryset = Playlist.objects.filter(user=user).order_by("title")
        listed = list(self.fields["playlists"].queryset.values_list("pk", flat=True))
        self.fields["shown"].initial = listed
        self.has_playlists = bool(listed)
        if not self.has_playlists:
            self.fields["new_title"].label = "Name your first playlist"
            self.fields["new_title"].required = True
            self.fields["new_title"].error_messages["required"] = "Name a playlist to put this track in."

    def clean_shown(self):
        """The listed ids (not digits, or not the member's own: left out — they only ever limit
        what the form takes the track off)."""
        values = self.cleaned_data.get("shown") or []
        ids = {whole_number(v) for v in values} - {None}
        return set(self.fields["playlists"].queryset.filter(pk__in=ids).values_list("pk", flat=True))

    def redisplay(self, holding):
        """Ready the sent form to be shown again after an error: the member's ticks kept for the
        playlists their page showed, a playlist it did not show (made since, in another tab) ticked
        as it is now (``holding``: ids of the playlists that hold the track), and every playlist
        listed now counted as shown — so sending it again takes the track off only what it shows."""
        before = self.cleaned_data.get("shown", set()) if hasattr(self, "cleaned_data") else set()
        listed = self.fields["shown"].initial
        ticked = [value for value in self.data.getlist("playlists") if whole_number(value) in before]
        ticked += [str(pk) for pk in listed if pk in holding and pk not in before]
        data = self.data.copy()
        data.setlist("playlists", ticked)
        data.setlist("shown", [str(pk) for pk in listed])
        self.data = data


class PlaylistMoveForm(forms.Form):
    """One move of a playlist's track: where to, and the position the page showed (so a form sent
    twice, or from a page that is out of date, moves nothing)."""

    move = forms.ChoiceField(
        choices=[(move, move) for move in PLAYLIST_MOVES],
        error_messages={
            "invalid_choice": "Choose up, down, top or bottom.",
            "required": "Choose up, down, top or bottom.",
        },
    )
    at = forms.IntegerField(
        error_messages={
            "required": "That move did not come from the playlist's page; nothing moved.",
            "invalid": "That move did not come from the playlist's page; nothing moved.",
        }
    )


class FollowDigestForm(forms.Form):
    """The followed-artists email on ("1") or off ("0")."""

    wanted = forms.TypedChoiceField(choices=[("1", "On"), ("0", "Off")], coerce=lambda value: value == "1")
