"""Licences outlive the account: on cancellation only end users' email addresses are erased."""

from django.dispatch import receiver

try:
    from accounts.signals import account_cancelled
except ImportError:  # pragma: no cover - accounts always ships it
    account_cancelled = None


if account_cancelled is not None:

    @receiver(account_cancelled, dispatch_uid="licensing.forget_end_user_emails")
    def forget_end_user_emails(sender, user, **kwargs):
        from .services import forget_end_user_emails as forget

        forget(user)
