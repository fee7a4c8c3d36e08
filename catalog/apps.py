from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"  # as the site spells it

    def ready(self):
        from accounts.data_export import register

        from .exports import account_data

        register("catalogue", account_data)
        # The search module's signal receivers (cached taxonomy, remembered results) must be
        # connected in every process that saves tracks, not only in those that search.
        from accounts.signals import account_cancelled

        from . import ingest, search  # noqa: F401  (ingest: an upload's file goes with its record)
        from .services import forget_cancelled_account

        account_cancelled.connect(forget_cancelled_account, dispatch_uid="catalog.forget_cancelled_account")
