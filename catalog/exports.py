"""The catalogue's part of an account's data export (``accounts.data_export``): favourites."""

from accounts.data_export import when

from .models import Favourite


def account_data(user):
    return {
        "favourites": [
            {"track": f.track.title, "artist": f.track.artist.name, "added": when(f.created_at)}
            for f in Favourite.objects.for_user(user).select_related("track__artist").order_by("created_at")
        ]
    }
