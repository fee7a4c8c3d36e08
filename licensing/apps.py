from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self):
        from accounts.data_export import register

        from .exports import account_data

        register("licensing", account_data)
        from . import signals  # noqa: F401
