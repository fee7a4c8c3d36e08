"""Fixed-window rate limits kept in the cache (Redis in production).

Used for every endpoint that automated clients could hammer (search, previews,
downloads, verification). Over the limit the view answers 429 with Retry-After.
"""

import time
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
        return (bucket + 1) * window - now or 1
    return 0


def request_keys(request, by):
    keys = []
    if "ip" in by:
        keys.append(("ip", client_ip(request) or "unknown"))
    if "user" in by and request.user.is_authenticated:
        keys.append(("user", str(request.user.pk)))
    return keys


def check(request, scope, rate, by=("ip", "user"), cost=1):
    """Count this request (as ``cost`` uses) against each key; the longest wait over all of them, or 0."""
    wait = 0
    for kind, value in request_keys(request, by):
        wait = max(wait, hit(f"{scope}:{kind}", value, rate, cost))
    return wait


def ratelimit(scope, rate, by=("ip", "user"), methods=None):
    """View decorator: over ``rate`` for this scope, answer the branded 429 page."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if methods is None or request.method in methods:
                wait = check(request, scope, rate, by)
                if wait:
                    from .views import too_many_requests

                    return too_many_requests(request, retry_after=wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
