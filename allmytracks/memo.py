"""Values a process keeps for a moment in front of the shared cache.

Some things every page reads — the taxonomy names, the running announcements — are cached in the
shared cache (Redis in production), which costs a network round trip per read. A ``ProcessMemo``
keeps the last value this process read for a couple of seconds: a change made in this process is
seen at once (its code calls ``forget``), a change made elsewhere within ``seconds``. A new
``CACHES`` setting (tests) forgets every memo: what it holds came from the old cache.
"""

import time
import weakref

from django.core.signals import setting_changed

_memos = weakref.WeakSet()
_now = time.monotonic  # the clock (tests move it)


class ProcessMemo:
    __slots__ = ("seconds", "_expires", "_value", "__weakref__")

    def __init__(self, seconds):
        self.seconds = seconds
        self._expires = 0.0
        self._value = None
        _memos.add(self)

    def get(self):
        """The value kept, or None when there is none or its moment is over (so a memo never
        holds None: a caller keeps an empty list or dict as such)."""
        if self._value is not None and _now() < self._expires:
            return self._value
        return None

    def set(self, value):
        self._value = value
        self._expires = _now() + self.seconds
        return value

    def forget(self):
        self._expires = 0.0
        self._value = None


def _forget_all_on_new_caches(*, setting, **kwargs):
    if setting == "CACHES":
        for memo in list(_memos):
            memo.forget()


setting_changed.connect(_forget_all_on_new_caches, dispatch_uid="allmytracks-process-memos")
