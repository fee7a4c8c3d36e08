import datetime

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from legal import services, tasks
from legal.emails import unsubscribe_token
from legal.models import Message, Notice, NoticeDelivery
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_notice(**kwargs):
    defaults = {
        "subject": "Scheduled maintenance on Sunday",
        "body": "We will be down for an hour.",
        "kind": "service",
    }
    defaults.update(kwargs)
    notice = Notice.objects.create(**defaults)
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.SENDING)
    notice.refresh_from_db()
    return notice


def run_until_done(notice, batch_size):
    runs = 0
    while services.send_notice_batch(notice.pk, batch_size=batch_size):
        runs += 1
        assert runs < 50
    return runs + 1


def test_the_batch_sender_sends_each_user_one_email_in_bounded_batches():
    users = UserFactory.create_batch(7)
    notice = make_notice()
    runs = run_until_done(notice, batch_size=3)
    assert runs == 3  # 3 + 3 + 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DONE and notice.batches == 3 and notice.sent_count == 7
    assert Message.objects.filter(notice=notice).count() == 7


def test_a_batch_sends_over_one_connection_and_outlasts_a_server_ending_the_session(settings):
    """One connection for the batch; a refused address fails alone (the connection stays); a server
    that ends the session after two messages costs a reconnect, not an email."""
    from tests.mail_backends import CountingBackend

    settings.MAILERS = {"default": {"BACKEND": "tests.mail_backends.CountingBackend"}}
    CountingBackend.opened = 0
    UserFactory.create_batch(3)
    refused = UserFactory(email="refused@example.com")
    run_until_done(make_notice(), batch_size=10)
    assert len(mail.outbox) == 3 and CountingBackend.opened == 1
    assert NoticeDelivery.objects.get(user=refused, status="failed").error.startswith(
        "{'refused@example.com'"
    )

    mail.outbox.clear()
    CountingBackend.opened, CountingBackend.per_session = 0, 2
    try:
        run_until_done(make_notice(), batch_size=10)
    finally:
        CountingBackend.per_session = None
    assert len(mail.outbox) == 3 and CountingBackend.opened == 2  # 2 on the first, 1 on the second
    assert set(NoticeDelivery.objects.filter(status="failed").values_list("user", flat=True)) == {refused.pk}


def test_the_batch_sender_run_twice_sends_each_user_exactly_one_email(django_capture_on_commit_callbacks):
    users = UserFactory.create_batch(5)
    notice = make_notice()
    run_until_done(notice, batch_size=2)
    # A redelivered task, or an operator pressing "resume", runs it all again.
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.SENDING, cursor=0)
    run_until_done(notice, batch_size=2)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_notice_batch(notice.pk)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert NoticeDelivery.objects.filter(notice=notice, channel="email").count() == 5
    assert Message.objects.filter(notice=notice).count() == 5


def test_sending_resumes_after_a_worker_crash_without_a_second_copy(
    monkeypatch, django_capture_on_commit_callbacks
):
    users = UserFactory.create_batch(4)
    notice = make_notice()
    from legal import emails

    real_send = emails.send_notice_email
    calls = {"n": 0}

    def crash_on_third(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")  # not an Exception: nothing marks the row failed
        return real_send(**kwargs)

    monkeypatch.setattr(emails, "send_notice_email", crash_on_third)
    with pytest.raises(SystemExit):
        services.send_notice_batch(notice.pk, batch_size=10)
    assert len(mail.outbox) == 2
    monkeypatch.setattr(emails, "send_notice_email", real_send)
    assert list(services.stalled_notices()) == []  # it may still be running
    with (
        time_machine.travel(datetime.timedelta(minutes=15)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert list(services.stalled_notices()) == [notice]
        tasks.resume_stalled_notices()  # the beat job
    sent_to = [m.to[0] for m in mail.outbox]
    assert len(sent_to) == len(set(sent_to)) == 3  # the one in flight at the crash is not sent twice
    uncertain = NoticeDelivery.objects.get(notice=notice, channel="email", status="sending")
    assert uncertain.user.email not in sent_to
    assert {u.email for u in users} - set(sent_to) == {uncertain.user.email}


def test_a_failed_address_is_logged_and_the_rest_still_get_theirs(monkeypatch):
    UserFactory.create_batch(3)
    notice = make_notice()
    from legal import emails

    real_send = emails.send_notice_email

    def refuse_first(*, notice, user, **kwargs):
        if not NoticeDelivery.objects.filter(status="failed").exists():
            raise OSError("mailbox unavailable")
        return real_send(notice=notice, user=user, **kwargs)

    monkeypatch.setattr(emails, "send_notice_email", refuse_first)
    run_until_done(notice, batch_size=10)
    assert len(mail.outbox) == 2
    assert NoticeDelivery.objects.get(status="failed").error == "mailbox unavailable"


def test_staff_can_write_to_one_user_only(staff, owner, other, django_capture_on_commit_callbacks):
    notice = Notice.objects.create(
        subject="About your letter", body="Please check.", audience="one", recipient=owner
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.start_notice(notice=notice, actor=staff)
    assert [m.to[0] for m in mail.outbox] == [owner.email]
    assert not Message.objects.filter(recipient=other).exists()
    with pytest.raises(services.LegalError, match="already been sent"):
        services.start_notice(notice=notice, actor=staff)


def test_a_filtered_group_gets_the_notice(staff, django_capture_on_commit_callbacks):
    enterprise = UserFactory(account_type="enterprise")
    UserFactory(account_type="individual")
    notice = Notice.objects.create(
        subject="Seats", body="More seats.", audience="enterprise", send_email=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.start_notice(notice=notice, actor=staff)
    assert list(Message.objects.values_list("recipient", flat=True)) == [enterprise.pk]
    assert mail.outbox == []


def test_promotional_email_goes_only_to_opted_in_users_with_one_click_unsubscribe(staff, owner, other):
    services.set_marketing_consent(user=owner, opted_in=True, source="signup")
    services.set_marketing_consent(user=other, opted_in=False, source="signup")
    notice = make_notice(kind="promotional", send_message=False, subject="New lo-fi collection")
    run_until_done(notice, batch_size=10)
    assert [m.to[0] for m in mail.outbox] == [owner.email]
    message = mail.outbox[0]
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body and "support@" in message.body
    # RFC 8058: the mail client POSTs without cookies or a CSRF token.
    response = Client(enforce_csrf_checks=True).post(
        url.removeprefix("http://127.0.0.1:8000"), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert services.marketing_opted_in(owner) is False


def test_promotional_email_skips_accounts_that_may_not_use_the_site_now(staff):
    now = datetime.datetime.now(datetime.UTC)
    members = {
        "ok": UserFactory(),
        "suspended": UserFactory(moderation="suspended"),
        "suspended until yesterday": UserFactory(
            moderation="suspended", suspended_until=now - datetime.timedelta(days=1)
        ),
        "locked": UserFactory(locked_at=now),
        "banned": UserFactory(moderation="banned"),
    }
    for user in members.values():
        services.set_marketing_consent(user=user, opted_in=True, source="signup")
    expected = {members["ok"].pk, members["suspended until yesterday"].pk}
    assert set(services.promotional_recipients().values_list("pk", flat=True)) == expected
    promotional = make_notice(kind="promotional", send_message=False)
    assert set(services.audience(promotional).values_list("pk", flat=True)) == expected
    service = make_notice(kind="service")  # notices about the service still reach them all but the banned
    assert set(services.audience(service).values_list("pk", flat=True)) >= expected | {
        members["suspended"].pk,
        members["locked"].pk,
    }


def test_promotional_notices_cannot_go_to_the_inbox(staff):
    notice = Notice(subject="Offer", body="Buy", kind="promotional", send_message=True)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        notice.full_clean()


def test_the_unsubscribe_page_asks_before_unsubscribing_and_needs_no_sign_in(anon_client, owner):
    services.set_marketing_consent(user=owner, opted_in=True, source="signup")
    url = reverse("legal:unsubscribe", args=[unsubscribe_token(owner)])
    response = anon_client.get(url)
    assert response.status_code == 200 and b"Unsubscribe" in response.content
    assert services.marketing_opted_in(owner) is True  # a link scanner's GET changes nothing
    response = anon_client.post(url)
    assert b"You are unsubscribed" in response.content
    assert services.marketing_opted_in(owner) is False


def test_a_forged_unsubscribe_token_is_refused(anon_client, owner):
    services.set_marketing_consent(user=owner, opted_in=True, source="signup")
    response = anon_client.post(reverse("legal:unsubscribe", args=["not-a-token"]))
    assert response.status_code == 404
    assert services.marketing_opted_in(owner) is True
