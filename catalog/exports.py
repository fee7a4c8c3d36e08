"""The catalogue's part of an account's data export (``accounts.data_export``): favourites, playlists
and followed artists."""

from django.db.models import Prefetch

from accounts.data_export import when

from .models import ArtistFollow, Favourite, FollowDigest, Playlist, PlaylistItem


def account_data(user):
    items = PlaylistItem.objects.select_related("track__artist").order_by("position", "-id")
    playlists = Playlist.objects.filter(user=user).order_by("created_at", "id")
    follows = ArtistFollow.objects.filter(user=user).select_related("artist").order_by("created_at", "id")
    return {
        "favourites": [
            {"track": f.track.title, "artist": f.track.artist.name, "added": when(f.created_at)}
            for f in Favourite.objects.for_user(user).select_related("track__artist").order_by("created_at")
        ],
        "playlists": [
            {
                "title": p.title,
                "created": when(p.created_at),
                "shared_by_link": bool(p.share_token),
                "tracks": [
                    {"track": i.track.title, "artist": i.track.artist.name, "added": when(i.added_at)}
                    for i in p.items.all()
                ],
            }
            for p in playlists.prefetch_related(Prefetch("items", queryset=items))
        ],
        "artists_followed": [{"artist": f.artist.name, "since": when(f.created_at)} for f in follows],
        "followed_artists_email": _digest(user),
    }


def _digest(user):
    digest = FollowDigest.objects.filter(user=user).first()
    return {
        "wanted": digest.wanted if digest else True,
        "note": "sent only while promotional email is allowed",
        "last_sent": when(digest.sent_at) if digest else None,
    }
