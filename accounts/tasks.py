"""Background work for accounts. Tasks take ids, load the row, and call a service."""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from . import services


@shared_task(name="accounts.tasks.carry_out_cancellation", acks_late=True, ignore_result=True)
def carry_out_cancellation(cancellation_id):
    services.carry_out_cancellation(cancellation_id)


@shared_task(
    name="accounts.tasks.send_rendered_email",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
)
def send_rendered_email(to, subject, text, html="", from_email=None, headers=None):
    """Send a message the account adapter already rendered (allauth's and ours)."""
    message = EmailMultiAlternatives(subject, text, from_email, to, headers=headers or None)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
