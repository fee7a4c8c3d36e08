"""Races that only a real database with row locks can show (run on PostgreSQL in CI)."""

import threading

import pytest
from django.core import mail
from django.db import connection

from legal import services
from legal.models import Notice, NoticeDelivery
from tests.factories import AgreementVersionFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def run_together(target, count):
    barrier = threading.Barrier(count)
    results = []

    def worker(i):
        try:
            barrier.wait()
            results.append(("ok", target(i)))
        except Exception as exc:  # collected and asserted below
            results.append(("error", exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_staff_publishing_the_same_draft_at_once_one_wins_and_the_other_is_told():
    staff = [StaffFactory(), StaffFactory()]
    draft = AgreementVersionFactory(document=services.ensure_documents()["user-agreement"], number=1)
    results = run_together(lambda i: services.publish_version(version=draft, actor=staff[i], notify=False), 2)
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"]
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, services.LegalError) and "published" in str(error)


def test_two_workers_sending_the_same_notice_at_once_send_each_user_one_email():
    users = UserFactory.create_batch(6)
    notice = Notice.objects.create(subject="Maintenance", body="Sunday.", status=Notice.Status.SENDING)

    def drain(_):
        while services.send_notice_batch(notice.pk, batch_size=2):
            pass

    results = run_together(drain, 3)
    assert all(kind == "ok" for kind, _ in results), results
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert NoticeDelivery.objects.filter(notice=notice, channel="email", status="sent").count() == 6
