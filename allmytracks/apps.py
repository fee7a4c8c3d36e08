from django.apps import AppConfig


class AllMyTracksConfig(AppConfig):
    name = "allmytracks"
    # The app holds the audit log only; this is its section in the staff site.
    verbose_name = "Audit log"

    def ready(self):
        from . import checks  # noqa: F401 — registers the deploy checks
