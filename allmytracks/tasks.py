"""Enqueueing background work safely.

A task enqueued inside an open transaction can run before the rows it needs are
committed (or after they were rolled back). Every enqueue goes through here.
"""

from functools import partial

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone


def enqueue_on_commit(task, *args, using=None, **kwargs):
    """Send ``task`` with these arguments once the current transaction commits.

    Outside a transaction it is sent at once. Arguments must be JSON-serialisable ids,
    never model instances.
    """
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs), using=using)


@shared_task(name="allmytracks.ping", ignore_result=True)
def ping(token):
    """Round trip through the broker: a worker stores the token's arrival time in the cache.

    Used by `manage.py check_worker` and the CI test that runs a real worker.
    """
    cache.set(f"worker-ping:{token}", timezone.now().isoformat(), timeout=300)
