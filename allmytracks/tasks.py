"""Enqueueing background work safely.

A task enqueued inside an open transaction can run before the rows it needs are
committed (or after they were rolled back). Every enqueue goes through here.
"""

from functools import partial

from django.db import transaction


def enqueue_on_commit(task, *args, using=None, **kwargs):
    """Send ``task`` with these arguments once the current transaction commits.

    Outside a transaction it is sent at once. Arguments must be JSON-serialisable ids,
    never model instances.
    """
    transaction.on_commit(partial(task.apply_async, args=args, kwargs=kwargs), using=using)
