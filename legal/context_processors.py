from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from allmytracks.memo import ProcessMemo

from .middleware import DECLINED_SESSION_KEY
from .models import Announcement, AnnouncementDismissal, Message

LEVEL_ORDER = {"critical": 0, "warning": 1, "info": 2}
ANNOUNCEMENTS_CACHE_KEY = "legal:announcements"
ANNOUNCEMENTS_CACHE_SECONDS = 60
# Every page asks: each process keeps the list a couple of seconds rather than reading the shared
# cache (a Redis round trip) on every page.
_announcements_local = ProcessMemo(2.0)


def active_announcements():
    """The announcements running now, shared by every visitor (cached for a minute; saving
    an announcement clears it: seen at once by this process, within two seconds by others)."""
    now = timezone.now()
    rows = _announcements_local.get()
    if rows is None:
        rows = cache.get(ANNOUNCEMENTS_CACHE_KEY)
        if rows is None:
            rows = list(Announcement.objects.active(now).order_by("-starts_at")[:10])
            cache.set(ANNOUNCEMENTS_CACHE_KEY, rows, ANNOUNCEMENTS_CACHE_SECONDS)
        _announcements_local.set(rows)
    return [a for a in rows if a.starts_at <= now and (a.ends_at is None or a.ends_at > now)]


def forget_announcements(**kwargs):
    _announcements_local.forget()
    cache.delete(ANNOUNCEMENTS_CACHE_KEY)
    # Again after commit, in case a request cached the old list meanwhile.
    transaction.on_commit(lambda: (cache.delete(ANNOUNCEMENTS_CACHE_KEY), _announcements_local.forget()))


def notices(request):
    """Banner announcements and the unread message count for base.html.

    Computed only if the page shows them: the announcements usually cost no query (cached,
    plus one for the user's dismissals when any are running), the unread count one.
    """
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated

    def announcements():
        rows = active_announcements()
        if rows and signed_in:
            dismissed = set(
                AnnouncementDismissal.objects.filter(
                    user=user, announcement__in=[a.pk for a in rows]
                ).values_list("announcement_id", flat=True)
            )
            rows = [a for a in rows if a.pk not in dismissed]
        return sorted(rows[:3], key=lambda a: LEVEL_ORDER.get(a.level, 9))

    def unread():
        return Message.objects.for_user(user).unread().count() if signed_in else 0

    declined = bool(signed_in and hasattr(request, "session") and request.session.get(DECLINED_SESSION_KEY))
    return {
        "announcements": SimpleLazyObject(announcements),
        "unread_messages_count": SimpleLazyObject(unread),
        "agreements_declined": declined,
    }
