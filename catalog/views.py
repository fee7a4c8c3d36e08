"""Catalogue pages (track, artist, collections, favourites, playlists) and the protected preview stream.

The search pages (/tracks/, /sounds/, autocomplete) live in ``catalog.search`` views.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from allmytracks.audit import client_ip
from allmytracks.links import safe_next
from allmytracks.ratelimit import ratelimit
from legal.services import marketing_opted_in

from . import previews, services
from .cards import load_cards
from .forms import FollowDigestForm, PlaylistForm, PlaylistMoveForm, TrackPlaylistsForm
from .models import (
    Artist,
    ArtistFollow,
    Collection,
    CollectionItem,
    Favourite,
    Playlist,
    PlaylistItem,
    Track,
    TrackVersion,
)

PAGE_SIZE = 24


def _visible_tracks(request):
    """Customers see published tracks; staff also see unpublished ones (marked on the page)."""
    if request.user.is_authenticated and request.user.is_staff:
        return Track.objects.all()
    return Track.objects.published()


def _visible_artists(request):
    """Customers see artists whose music has been out (published now, or before: a follower of an
    artist whose tracks were withdrawn keeps the page); staff also see one set up ahead of a
    release, whose name is not public yet."""
    if request.user.is_authenticated and request.user.is_staff:
        return Artist.objects.all()
    released = Track.objects.filter(artist=OuterRef("pk"), published_at__isnull=False)
    return Artist.objects.filter(Exists(released))


@require_safe
def track_detail(request, slug):
    track = get_object_or_404(
        _visible_tracks(request)
        .select_related("artist", "sound_category__parent")
        .with_tags()
        .prefetch_related("versions"),
        slug=slug,
    )
    data = services.track_page_data(track)
    marks = services.row_marks(request.user, [track, *data["similar"]])
    tag_groups = [
        ("Genres", track.tags["genre"], "genre"),
        ("Moods", track.tags["mood"], "mood"),
        ("Instruments", track.tags["instrument"], "instrument"),
        ("Themes", track.tags["theme"], "theme"),
    ]
    return render(
        request,
        "catalog/track_detail.html",
        {
            "track": track,
            **data,
            "tag_groups": tag_groups,
            "favourited": track.pk in marks["favourite_ids"],
            **marks,
            "nav_section": "sfx" if track.is_sfx else "music",  # both live under /tracks/
        },
    )


@require_safe
def artist_detail(request, slug):
    artist = get_object_or_404(_visible_artists(request), slug=slug)
    ids = (
        _visible_tracks(request)
        .filter(artist=artist)
        .order_by("-popularity", "-created_at")
        .values_list("pk", flat=True)
    )
    page = Paginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
    tracks = load_cards(page.object_list)
    follows = ArtistFollow.objects.filter(artist=artist)
    following = request.user.is_authenticated and follows.filter(user=request.user).exists()
    return render(
        request,
        "catalog/artist_detail.html",
        {
            "artist": artist,
            "page": page,
            "tracks": tracks,
            **services.row_marks(request.user, tracks),
            "following": following,
        },
    )


def _wanted(request):
    """The state an on/off button asks for (its ``on`` field: "1" or "0"); None, for a form from
    before the field, flips the state."""
    return {"1": True, "0": False}.get(request.POST.get("on"))


@require_POST
@ratelimit("follow", "60/m")
def artist_follow(request, slug):
    """Follow an artist or stop; htmx gets the button back, others a redirect to the artist."""
    artist = get_object_or_404(_visible_artists(request), slug=slug)
    if not request.user.is_authenticated:
        return redirect_to_login(artist.get_absolute_url())
    following = services.set_follow(user=request.user, artist=artist, wanted=_wanted(request))
    if request.htmx:
        return render(request, "catalog/_follow_button.html", {"artist": artist, "following": following})
    return redirect(safe_next(request, artist.get_absolute_url()))


@login_required
@require_safe
def followed_artists(request):
    """The artists the member follows, and what they published lately."""
    follows = (
        ArtistFollow.objects.filter(user=request.user)
        .select_related("artist")
        .annotate(n=Count("artist__tracks", filter=Q(artist__tracks__in=Track.objects.published())))
        .order_by("artist__name")
    )
    new = services.new_from_followed(request.user, limit=24)
    return render(
        request,
        "catalog/following.html",
        {
            "follows": follows,
            "new_tracks": new,
            "new_days": services.FOLLOWED_NEW_DAYS,
            "promotional_ok": marketing_opted_in(request.user),
            "digest_wanted": services.follow_digest_wanted(request.user),
            **services.row_marks(request.user, new),
        },
    )


@login_required
@require_POST
@ratelimit("follow", "60/m")
def follow_digest(request):
    """Turn the weekly email of followed artists' new tracks on (``wanted`` = "1") or off."""
    form = FollowDigestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether you want the email.")
        return redirect("catalog:following")
    wanted = form.cleaned_data["wanted"]
    services.set_follow_digest(user=request.user, wanted=wanted, request=request)
    if wanted:
        messages.success(request, "Each Monday we will email you the new tracks of the artists you follow.")
    else:
        messages.success(request, "You will get no more emails about the artists you follow.")
    return redirect("catalog:following")


@require_safe
def collection_list(request):
    collections = (
        Collection.objects.published().annotate(n=Count("items")).order_by("position", "-created_at")
    )
    page = Paginator(collections, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "catalog/collection_list.html", {"page": page, "collections": page.object_list})


@require_safe
def collection_detail(request, slug):
    collections = Collection.objects.all() if request.user.is_staff else Collection.objects.published()
    collection = get_object_or_404(collections, slug=slug)
    items = (
        CollectionItem.objects.filter(collection=collection, track__in=_visible_tracks(request))
        .select_related("track")
        .order_by("position", "id")
    )
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    tracks = load_cards(item.track_id for item in page.object_list)
    return render(
        request,
        "catalog/collection_detail.html",
        {
            "collection": collection,
            "page": page,
            "tracks": tracks,
            **services.row_marks(request.user, tracks),
        },
    )


@require_POST
@ratelimit("playlist", "60/m")
def collection_save(request, slug):
    """Keep a published collection's tracks as a playlist of the member's own, to change as they like."""
    collection = get_object_or_404(Collection.objects.published(), slug=slug)
    if not request.user.is_authenticated:
        return redirect_to_login(collection.get_absolute_url())
    tracks = Track.objects.published().filter(collection_items__collection=collection)
    try:
        playlist, added = services.save_as_playlist(
            user=request.user,
            title=collection.title,
            tracks=list(tracks.order_by("collection_items__position", "collection_items__id")),
        )
    except services.CatalogError as exc:
        messages.error(request, str(exc))
        return redirect(collection)
    if added:
        messages.success(
            request, f"Saved {added} track{'s' if added != 1 else ''} to your playlist “{playlist.title}”."
        )
    else:
        messages.info(
            request, f"Your playlist “{playlist.title}” already holds every track of this collection."
        )
    return redirect(playlist)


@login_required
@require_safe
def favourites(request):
    favs = Favourite.objects.for_user(request.user).filter(track__in=Track.objects.published())
    page = Paginator(favs.values_list("track_id", flat=True), PAGE_SIZE).get_page(request.GET.get("page"))
    tracks = load_cards(page.object_list)
    return render(
        request,
        "catalog/favourites.html",
        {"page": page, "tracks": tracks, **services.row_marks(request.user, tracks)},
    )


@require_POST
@ratelimit("favourite", "60/m")
def favourite_toggle(request, slug):
    """Add or remove a favourite for the signed-in user; htmx gets the button back, others a redirect."""
    if not request.user.is_authenticated:
        if request.htmx:
            response = render(request, "catalog/_favourite_button.html", {"track": None, "needs_login": True})
            return response
        return redirect_to_login(reverse("catalog:track-detail", args=[slug]))
    track = get_object_or_404(Track.objects.published(), slug=slug)
    favourited = services.set_favourite(user=request.user, track=track, wanted=_wanted(request))
    if request.htmx:
        context = {
            "track": track,
            "favourited": favourited,
            "next_url": request.htmx.current_url_abs_path or "",
        }
        return render(request, "catalog/_favourite_button.html", context)
    return redirect(safe_next(request, track.get_absolute_url()))


@require_GET
@ratelimit("preview", settings.CATALOG_PREVIEW_RATE, by=("ip",))
@ratelimit("preview-hour", settings.CATALOG_PREVIEW_RATE_HOURLY, by=("ip",))
def preview(request, version_id, expires, signature):
    """Stream one version's MP3 preview (never the master) for a valid, unexpired signed link."""
    state = previews.check_signature(version_id, expires, signature)
    if state != "ok":
        return HttpResponseForbidden(
            "This preview link has expired. Reload the page."
            if state == "expired"
            else "Invalid preview link.",
            content_type="text/plain",
        )
    version = (
        TrackVersion.objects.filter(pk=version_id, ingest_status="ready")
        .select_related("track")
        .only("preview", "track__is_published", "track__ingest_status")
        .first()
    )
    if version is None or not version.preview:
        raise Http404("No preview")
    if not version.track.is_published and not (request.user.is_authenticated and request.user.is_staff):
        raise Http404("No preview")
    range_header = request.headers.get("Range", "")
    if not range_header or range_header.strip() == "bytes=0-":
        # A play starts at byte 0 (seeks are not counted), once a day per account or address.
        user = request.user
        visitor = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_ip(request) or 'unknown'}"
        services.record_play(version_id, visitor=visitor)
    response = previews.range_response(version.preview.storage, version.preview.name, range_header)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- playlists ---------------------------------------------------------------------------------


def _own_playlist(request, pk):
    """The signed-in member's playlist ``pk``; another account's is not found (404), like a missing one."""
    return get_object_or_404(Playlist, pk=pk, user=request.user)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit("playlist", "60/m", methods=("POST",))
def playlists(request):
    """The member's playlists, and a form to start one."""
    form = PlaylistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            playlist = services.create_playlist(user=request.user, title=form.cleaned_data["title"])
        except services.CatalogError as exc:
            form.add_error("title", str(exc))
        else:
            return redirect(playlist)
    mine = Playlist.objects.filter(user=request.user).annotate(
        n=Count("items", filter=Q(items__track__in=Track.objects.published()))
    )
    return render(request, "catalog/playlists.html", {"playlists": mine, "form": form})


def _listed_items(playlist):
    """The playlist's published tracks in its order: (track id, position) pairs."""
    return playlist.items.filter(track__in=Track.objects.published()).values_list("track_id", "position")


def _playlist_tracks(request, playlist):
    """A page of the playlist's published tracks, in its order, as result rows (and their positions)."""
    page = Paginator(_listed_items(playlist), PAGE_SIZE).get_page(request.GET.get("page"))
    positions = dict(page.object_list)
    tracks = load_cards(list(positions))
    marks = services.row_marks(request.user, tracks)
    return {"page": page, "tracks": tracks, "positions": positions, **marks}


@login_required
@require_safe
def playlist_detail(request, pk):
    playlist = _own_playlist(request, pk)
    context = _playlist_tracks(request, playlist)
    held = context["licence_counts"]  # the page says how many licences the member holds of each
    page, positions, tracks = context["page"], context["positions"], context["tracks"]
    first, last = page.start_index() - 1, page.paginator.count - 1  # indexes in the whole list
    context.update(
        playlist=playlist,
        rows=[
            # track, licences held, position (the move form's check), first of all, last of all
            (t, held.get(t.pk, 0), positions[t.pk], first + i == 0, first + i == last)
            for i, t in enumerate(tracks)
        ],
        rename_form=PlaylistForm(initial={"title": playlist.title}),
    )
    return render(request, "catalog/playlist_detail.html", context)


@login_required
@require_POST
@ratelimit("playlist-move", "120/m")
def playlist_move(request, pk, track_id):
    """Move a track up, down, to the top or to the bottom of the playlist; back to the page the
    track is on now, scrolled to it. Works as a plain form."""
    playlist = _own_playlist(request, pk)
    form = PlaylistMoveForm(request.POST)
    try:
        moved = form.is_valid() and services.move_in_playlist(
            playlist=playlist, track_id=track_id, move=form.cleaned_data["move"], at=form.cleaned_data["at"]
        )
    except PlaylistItem.DoesNotExist:
        raise Http404("That track is not in this playlist.") from None
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
    elif not moved:
        title = Track.objects.filter(pk=track_id).values_list("title", flat=True).first()
        messages.info(request, f"“{title}” stayed where it is (the playlist may have changed meanwhile).")
    listed = list(_listed_items(playlist).values_list("track_id", flat=True))
    page = listed.index(track_id) // PAGE_SIZE + 1 if track_id in listed else 1
    query = f"?page={page}" if page > 1 else ""
    return redirect(f"{playlist.get_absolute_url()}{query}#track-{track_id}")


@login_required
@require_POST
@ratelimit("playlist", "60/m")
def playlist_share(request, pk):
    """Start or stop sharing the playlist by link (``shared`` = "1" or "0")."""
    playlist = _own_playlist(request, pk)
    shared = request.POST.get("shared") == "1"
    services.share_playlist(playlist=playlist, shared=shared)
    if shared:
        messages.success(request, "Anyone with the link can now listen to this playlist.")
    else:
        messages.success(request, "Sharing stopped: the link no longer opens this playlist.")
    return redirect(playlist)


@require_safe
@ratelimit("shared-playlist", "120/m", by=("ip",))
def shared_playlist(request, token):
    """A playlist its owner shares by link: listen and license, nothing to change. Not indexed."""
    playlist = get_object_or_404(Playlist.objects.select_related("user"), share_token=token)
    # An account that may not sign in (cancelled, banned, suspended, locked) shares nothing meanwhile.
    if not playlist.user.is_active or playlist.user.sign_in_refusal():
        raise Http404("This playlist is not shared.")
    context = _playlist_tracks(request, playlist)
    context.update(
        playlist=playlist, is_owner=request.user.is_authenticated and request.user.pk == playlist.user_id
    )
    response = render(request, "catalog/shared_playlist.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_POST
@ratelimit("playlist", "60/m")
def playlist_rename(request, pk):
    playlist = _own_playlist(request, pk)
    form = PlaylistForm(request.POST)
    if form.is_valid():
        try:
            services.rename_playlist(playlist=playlist, title=form.cleaned_data["title"])
        except services.CatalogError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Renamed to “{playlist.title}”.")
    else:
        messages.error(request, form.errors["title"][0])
    return redirect(playlist)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit("playlist", "60/m", methods=("POST",))
def playlist_delete(request, pk):
    """Ask, then delete the playlist (its tracks stay in the catalogue and in other playlists)."""
    playlist = _own_playlist(request, pk)
    if request.method == "POST":
        title = playlist.title
        playlist.delete()
        messages.success(request, f"Deleted the playlist “{title}”.")
        return redirect("catalog:playlists")
    context = {"playlist": playlist, "n": playlist.items.count()}
    return render(request, "catalog/playlist_delete.html", context)


@login_required
@require_POST
@ratelimit("playlist", "60/m")
def playlist_remove(request, pk, track_id):
    playlist = _own_playlist(request, pk)
    if services.remove_from_playlist(playlist=playlist, track_id=track_id):
        title = Track.objects.filter(pk=track_id).values_list("title", flat=True).first()
        messages.success(request, f"Took “{title}” off this playlist.")
    return redirect(safe_next(request, playlist.get_absolute_url()))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit("playlist", "60/m", methods=("POST",))
def track_playlists(request, slug):
    """Choose which of the member's playlists hold a track (and start one for it)."""
    track = get_object_or_404(Track.objects.published().select_related("artist"), slug=slug)
    current = Playlist.objects.filter(user=request.user, items__track=track)
    form = TrackPlaylistsForm(request.POST or None, user=request.user, initial={"playlists": current})
    back = safe_next(request, track.get_absolute_url())
    if request.method == "POST" and form.is_valid():
        try:
            added, removed = services.set_track_playlists(
                user=request.user,
                track=track,
                playlists=form.cleaned_data["playlists"],
                new_title=form.cleaned_data["new_title"],
                among=form.cleaned_data["shown"],
            )
        except services.CatalogError as exc:
            form.add_error(None, str(exc))
        else:
            if added:
                messages.success(request, f"Added “{track.title}” to {_titles(added)}.")
            if removed:
                messages.success(request, f"Took “{track.title}” off {_titles(removed)}.")
            if not added and not removed:
                messages.info(request, "Your playlists are as they were.")
            return redirect(back)
    if form.is_bound:
        form.redisplay(set(current.values_list("pk", flat=True)))
    return render(request, "catalog/track_playlists.html", {"track": track, "form": form, "back": back})


def _titles(playlists):
    names = [f"“{p.title}”" for p in playlists]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
