import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from allmytracks import audit, ratelimit
from allmytracks.models import AuditLog
from allmytracks.tasks import enqueue_on_commit, ping

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_case(owner):
    User = get_user_model()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="OWNER@example.com")


def test_new_accounts_store_the_email_in_lower_case(db):
    user = get_user_model().objects.create_user("Mixed.Case@Example.COM", "pw-long-enough-123")
    assert user.email == "mixed.case@example.com"


def test_email_address_cannot_be_changed_once_registered(owner):
    owner.email = "new@example.com"
    with pytest.raises(ValueError, match="cannot be changed"):
        owner.save()
    owner.refresh_from_db()
    assert owner.email == "owner@example.com"


def test_profile_fields_still_save(owner):
    owner.display_name = "New Name"
    owner.save()
    owner.refresh_from_db()
    assert owner.display_name == "New Name"


def test_audit_rows_record_who_did_what_and_cannot_be_edited_or_deleted(staff, owner):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    row = audit.record("account.suspend", actor=staff, target=owner, reason="spam", request=request, days=3)
    assert row.target_type == "accounts.user"
    assert row.target_id == str(owner.pk)
    assert row.ip == "203.0.113.9"
    assert row.data == {"days": 3}
    assert list(AuditLog.objects.for_object(owner)) == [row]
    row.reason = "changed"
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()


def test_audit_rows_from_the_system_have_no_actor(owner):
    from django.contrib.auth.models import AnonymousUser

    assert audit.record("system.job", actor=AnonymousUser(), target=owner).actor is None


def test_tasks_are_sent_only_after_the_transaction_commits(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(ping, "apply_async", lambda args, kwargs: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        enqueue_on_commit(ping, "abc")
        assert sent == []
    assert len(callbacks) == 1
    assert sent == [("abc",)]


def test_tasks_are_not_sent_when_the_transaction_rolls_back(monkeypatch):
    sent = []
    monkeypatch.setattr(ping, "apply_async", lambda args, kwargs: sent.append(args))
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(ping, "abc")
        raise RuntimeError("rollback")
    assert sent == []


def test_rate_limit_answers_429_with_retry_after_once_over_the_limit():
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    @ratelimit.ratelimit("test", "3/m")
    def view(request):
        return HttpResponse("ok")

    def call(ip):
        request = RequestFactory().get("/", REMOTE_ADDR=ip)
        request.user = AnonymousUser()
        return view(request)

    assert [call("198.51.100.1").status_code for _ in range(3)] == [200, 200, 200]
    blocked = call("198.51.100.1")
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert b"Slow down" in blocked.content
    assert call("198.51.100.2").status_code == 200  # another client is unaffected


def test_rate_limit_counts_per_account_across_addresses(owner):
    from django.http import HttpResponse

    @ratelimit.ratelimit("test-user", "2/m", by=("user",))
    def view(request):
        return HttpResponse("ok")

    def call(ip):
        request = RequestFactory().get("/", REMOTE_ADDR=ip)
        request.user = owner
        return view(request).status_code

    assert [call("198.51.100.1"), call("198.51.100.2"), call("198.51.100.3")] == [200, 200, 429]


def test_parse_rate_understands_multiples():
    assert ratelimit.parse_rate("100/5m") == (100, 300)
    assert ratelimit.parse_rate("10/h") == (10, 3600)
