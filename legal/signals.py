"""What the legal app does when an account is cancelled and anonymised.

Proof records (acceptances, consent changes, the notice log) stay: they hold no personal
data beyond the email hash and the IP/user agent the proof needs. The inbox (free text that
may name the person) and banner dismissals go; marketing consent is set to "no" by accounts.
"""

from .models import AnnouncementDismissal, Message


def forget_cancelled_account(sender, user, **kwargs):
    Message.objects.filter(recipient=user).delete()
    AnnouncementDismissal.objects.filter(user=user).delete()
