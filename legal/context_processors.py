from django.utils.functional import SimpleLazyObject

from .middleware import DECLINED_SESSION_KEY
from .models import Announcement, Message

LEVEL_ORDER = {"critical": 0, "warning": 1, "info": 2}


def notices(request):
    """Banner announcements and the unread message count, each one query at most per request
    and only if the page shows them."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated

    def announcements():
        rows = Announcement.objects.for_user(user if signed_in else None).order_by("-starts_at")[:3]
        return sorted(rows, key=lambda a: LEVEL_ORDER.get(a.level, 9))

    def unread():
        return Message.objects.for_user(user).unread().count() if signed_in else 0

    declined = bool(signed_in and hasattr(request, "session") and request.session.get(DECLINED_SESSION_KEY))
    return {
        "announcements": SimpleLazyObject(announcements),
        "unread_messages_count": SimpleLazyObject(unread),
        "agreements_declined": declined,
    }
