from django.urls import path

from . import views

app_name = "licensing"

urlpatterns = [
    path("tracks/<slug:slug>/download/", views.download, name="download"),
    path("licenses/", views.license_list, name="license-list"),
    path("licenses/export.csv", views.export_csv, name="export-csv"),
    path("licenses/verify/", views.verify, name="verify"),
    path("licenses/verify/<str:code>/", views.verify_code, name="verify-code"),
    path("licenses/<str:code>/", views.license_detail, name="license-detail"),
    path("licenses/<str:code>/download/", views.redownload, name="redownload"),
    path("licenses/<str:code>/letter/", views.letter_request, name="letter-request"),
    path("licenses/<str:code>/letters/<id:pk>/status/", views.letter_status, name="letter-status"),
    path("licenses/<str:code>/letters/<id:pk>/pdf/", views.letter_download, name="letter-download"),
    path("account/end-users/", views.end_users, name="end-users"),
    path("account/projects/", views.projects, name="projects"),
    path("account/playlists/<id:pk>/licence/", views.playlist_download, name="playlist-download"),
]
