"""Catalogue background work (queue "ingest"). Tasks take ids and call ``catalog.ingest``."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="catalog.tasks.ingest_job", acks_late=True, ignore_result=True)
def ingest_job(job_id):
    """Ingest one uploaded file. Running it twice is harmless: only a pending job is claimed."""
    from .ingest import run_job

    run_job(job_id)


@shared_task(name="catalog.tasks.resume_stalled_ingest", ignore_result=True)
def resume_stalled_ingest():
    """Beat: uploads whose worker stopped mid-file are queued again (or failed after a few starts)."""
    from .ingest import resume_stalled_jobs

    resume_stalled_jobs()


@shared_task(name="catalog.tasks.refresh_popularity", ignore_result=True)
def refresh_popularity():
    """Every track's popularity from its plays, favourites and licences, and its trending figure from
    this week's (nightly, Celery beat)."""
    from .services import refresh_popularity as refresh

    changed = refresh()
    log.info("popularity and trending refreshed: %s tracks changed", changed)


@shared_task(name="catalog.tasks.tidy_search", ignore_result=True)
def tidy_search():
    """The weekly search clean-up (Celery beat): the word dictionary recomputed, the search table
    rewritten in popularity order while search goes on (``manage.py rebuild_search`` by hand)."""
    from .search_index import SearchTableBusy, rebuild_search_words, reorder_track_search

    rebuild_search_words()
    try:
        reorder_track_search()
    except SearchTableBusy as exc:  # next week's run will do it
        log.warning("search table not rewritten: %s", exc)


@shared_task(name="catalog.tasks.send_follow_digests", acks_late=True, ignore_result=True)
def send_follow_digests(until=None, after=0):
    """This week's email of new tracks from followed artists (Celery beat: Monday, each hour from the
    scheduled one until the evening). One batch of members per run, the next run queued with the
    same span (``until``, ISO 8601) until every member is done; a later hourly run finds only the
    members a stopped chain did not reach. Safe to run twice: each member's span is claimed once."""
    from datetime import UTC, datetime

    from django.utils import timezone

    from allmytracks.tasks import enqueue_on_commit

    from . import services

    if until:
        until = datetime.fromisoformat(until)
        if timezone.is_naive(until):  # typed by hand: read as UTC
            until = until.replace(tzinfo=UTC)
    else:
        until = services.digest_until()
    sent, last = services.send_follow_digest_batch(until=until, after=after)
    log.info("followed-artists emails: %s sent (members after id %s)", sent, after)
    if last is not None:
        enqueue_on_commit(send_follow_digests, until.isoformat(), last)
