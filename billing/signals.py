"""Billing listens to other apps here."""

from allmytracks.tasks import enqueue_on_commit


def on_account_cancelled(sender, user, **kwargs):
    """An account was cancelled (and committed): end its memberships at Stripe in a task."""
    from .tasks import cancel_account_billing

    enqueue_on_commit(cancel_account_billing, user.pk)
