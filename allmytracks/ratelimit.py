"""Fixed-window rate limits kept in the cache (Redis in production).

Used for every endpoint that automated clients could hammer (search, previews,
downloads, verification). Over the limit the view answers 429 with Retry-After.
"""

import time
from contextlib import suppress
from functools import wraps

from django.core.cache import cache

from .audit import client_ip

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate):
    """'30/m' -> (30, 60); '100/5m' -> (100, 300)."""
    count, _, period = rate.partition("/")
    multiple = int(period[:-1] or 1)
    return int(count), multiple * _UNITS[period[-1]]


def hit(scope, key, rate, cost=1):
    """Count one request (``cost`` uses of the limit: a form that does several things at once);
    return the seconds to wait if over the limit, else 0."""
    return _count(scope, key, rate, cost)[0]


def _count(scope, key, rate, cost):
    """``hit``, also returning the window's counter key."""
    limit, window = parse_rate(rate)
    now = int(time.time())
    bucket = now // window
    cache_key = f"rl:{scope}:{key}:{bucket}"
    # Every request but a window's first is one cache call: count on. The first finds no counter
    # (or an evicted one) and starts it, unless another request started it in between.
    try:
        count = cache.incr(cache_key, cost)
    except ValueError:
        count = cost if cache.add(cache_key, cost, timeout=window + 1) else cache.incr(cache_key, cost)
    if count > limit:
        return (bucket + 1) * window - now or 1, cache_key
    return 0, cache_key


def request_keys(request, by):
    keys = []
    if "ip" in by:
        keys.append(("ip", client_ip(request) or "unknown"))
    if "user" in by and request.user.is_authenticated:
        keys.append(("user", str(request.user.pk)))
    return keys


def check(request, scope, rate, by=("ip", "user"), cost=1):
    """Count this request (as ``cost`` uses) against each key; the longest wait over all of them, or 0."""
    return check_all(request, [(scope, rate, cost)], by)


def check_all(request, limits, by=("ip", "user")):
    """Count this request against every (scope, rate, cost) of ``limits`` and each key; the longest
    wait over all of them, or 0.

    A refused request gives all its uses back: a form asking for more than is left (ten licences
    with five to go today) is refused without taking the five the member can still use, nor a
    use of the other limits."""
    wait, counted = 0, []
    for scope, rate, cost in limits:
        for kind, value in request_keys(request, by):
            key_wait, cache_key = _count(f"{scope}:{kind}", value, rate, cost)
            wait = max(wait, key_wait)
            counted.append((cache_key, cost))
    if wait:
        for cache_key, cost in counted:
            with suppress(ValueError):  # the window ended (or the counter was evicted) meanwhile
                cache.decr(cache_key, cost)
    return wait


def ratelimit(scope, rate, by=("ip", "user"), methods=None):
    """View decorator: over ``rate`` for this scope, answer the branded 429 page."""
    return ratelimits((scope, rate), by=by, methods=methods)


def ratelimits(*limits, by=("ip", "user"), methods=None):
    """View decorator for several (scope, rate) limits counted together (``check_all``): over any
    of them, the 429 page, and the request uses none of the others."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if methods is None or request.method in methods:
                wait = check_all(request, [(scope, rate, 1) for scope, rate in limits], by)
                if wait:
                    from .views import too_many_requests

                    return too_many_requests(request, retry_after=wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
