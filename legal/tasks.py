"""Notice fan-out: one bounded batch per task run, chained until the audience is done."""

from celery import shared_task

from allmytracks.tasks import enqueue_on_commit

from . import services


@shared_task(name="legal.tasks.send_notice_batch", acks_late=True, ignore_result=True)
def send_notice_batch(notice_id):
    """Send the next batch of a notice and queue the one after it. Safe to run twice."""
    if services.send_notice_batch(notice_id):
        enqueue_on_commit(send_notice_batch, notice_id)


@shared_task(name="legal.tasks.resume_stalled_notices", ignore_result=True)
def resume_stalled_notices():
    """Beat: a notice whose worker died mid-batch continues where it stopped."""
    for notice in services.stalled_notices():
        services.resume_notice(notice=notice)
