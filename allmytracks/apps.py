from django.apps import AppConfig


class AllMyTracksConfig(AppConfig):
    name = "allmytracks"
    verbose_name = "AllMyTracks"
