from django.apps import AppConfig


class LegalConfig(AppConfig):
    name = "legal"

    def ready(self):
        from accounts.data_export import register

        from .exports import account_data

        register("agreements_and_messages", account_data)
        from django.db.models.signals import post_delete, post_save

        from .context_processors import forget_announcements
        from .models import Announcement

        post_save.connect(forget_announcements, sender=Announcement, dispatch_uid="legal-announcement-saved")
        post_delete.connect(
            forget_announcements, sender=Announcement, dispatch_uid="legal-announcement-deleted"
        )
        try:
            from accounts.signals import account_cancelled
        except ImportError:  # pragma: no cover - accounts always ships it
            return
        from .signals import forget_cancelled_account

        account_cancelled.connect(forget_cancelled_account, dispatch_uid="legal-forget-cancelled-account")
