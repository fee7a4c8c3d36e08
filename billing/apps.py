from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from accounts.data_export import register

        from .exports import account_data

        register("billing", account_data)
        from accounts.signals import account_cancelled

        from .signals import on_account_cancelled

        account_cancelled.connect(on_account_cancelled, dispatch_uid="billing.account_cancelled")
