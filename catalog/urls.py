from django.urls import path

from . import search_views, views

app_name = "catalog"

urlpatterns = [
    # Search (part B): before tracks/<slug:slug>/, which would otherwise take "autocomplete" as a slug.
    path("tracks/autocomplete/", search_views.autocomplete, name="autocomplete"),
    # --- catalogue pages, previews, favourites (catalog part A) ---------------------------
    path("tracks/<slug:slug>/", views.track_detail, name="track-detail"),
    path("tracks/<slug:slug>/favourite/", views.favourite_toggle, name="favourite-toggle"),
    path("artists/<slug:slug>/", views.artist_detail, name="artist-detail"),
    path("artists/<slug:slug>/follow/", views.artist_follow, name="artist-follow"),
    path("account/following/", views.followed_artists, name="following"),
    path("account/following/email/", views.follow_digest, name="follow-digest"),
    path("collections/", views.collection_list, name="collection-list"),
    path("collections/<slug:slug>/", views.collection_detail, name="collection-detail"),
    path("collections/<slug:slug>/save/", views.collection_save, name="collection-save"),
    path("account/favourites/", views.favourites, name="favourites"),
    path("tracks/<slug:slug>/playlists/", views.track_playlists, name="track-playlists"),
    path("account/playlists/", views.playlists, name="playlists"),
    path("account/playlists/<id:pk>/", views.playlist_detail, name="playlist-detail"),
    path("account/playlists/<id:pk>/rename/", views.playlist_rename, name="playlist-rename"),
    path("account/playlists/<id:pk>/delete/", views.playlist_delete, name="playlist-delete"),
    path("account/playlists/<id:pk>/share/", views.playlist_share, name="playlist-share"),
    path("playlists/<str:token>/", views.shared_playlist, name="shared-playlist"),
    path("account/playlists/<id:pk>/remove/<id:track_id>/", views.playlist_remove, name="playlist-remove"),
    path("account/playlists/<id:pk>/move/<id:track_id>/", views.playlist_move, name="playlist-move"),
    path(
        "previews/<id:version_id>/<int:expires>/<str:signature>.mp3",
        views.preview,
        name="preview",
    ),
    # --- search (catalog part B adds its routes below this line) --------------------------
    path("tracks/", search_views.track_list, name="track-list"),
    path("sounds/", search_views.sound_list, name="sound-list"),
]
