"""Licensing background work (queue "letters"). Tasks take ids and call services."""

from celery import shared_task
from django.utils import timezone

from . import emails, services
from .models import EndUser, Letter, License


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def render_letter(letter_id):
    return services.render_letter(letter_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def send_letter(letter_id):
    """Email the finished letter once per revision; a second run does nothing."""
    letter = Letter.objects.select_related("account", "project").filter(pk=letter_id, status="ready").first()
    if letter is None or (
        letter.emailed_at and letter.rendered_at and letter.emailed_at >= letter.rendered_at
    ):
        return False
    if letter.account.is_cancelled:
        return False
    licenses = list(letter.licenses.select_related("track__artist", "end_user").order_by("issued_at", "id"))
    with letter.file.open("rb") as fh:
        content = fh.read()
    emails.license_letter(letter, licenses, content)
    Letter.objects.filter(pk=letter_id).update(emailed_at=timezone.now())
    return True


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def send_revocation_notice(license_id):
    license = License.objects.select_related("account", "track__artist", "project").get(pk=license_id)
    if license.account.is_cancelled:
        return False
    emails.license_revoked(license)
    return True


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def send_end_user_notice(end_user_id):
    end_user = EndUser.objects.select_related("account").get(pk=end_user_id)
    if not end_user.email:
        return False
    emails.end_user_designated(end_user)
    return True
