from django.apps import AppConfig


class LegalConfig(AppConfig):
    name = "legal"

    def ready(self):
        try:
            from accounts.signals import account_cancelled
        except ImportError:  # pragma: no cover - accounts always ships it
            return
        from .signals import forget_cancelled_account

        account_cancelled.connect(forget_cancelled_account, dispatch_uid="legal-forget-cancelled-account")
