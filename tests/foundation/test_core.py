import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import path

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


def test_behind_the_proxy_each_visitor_is_counted_by_the_address_the_proxy_saw(settings):
    """Production trusts one proxy: the client is the last X-Forwarded-For entry (the proxy's);
    what a client puts before it is ignored, and the proxy's own address is no one's."""
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    @ratelimit.ratelimit("test-proxy", "2/m")
    def view(request):
        return HttpResponse("ok")

    def call(forwarded):
        request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)
        request.user = AnonymousUser()
        return audit.client_ip(request), view(request).status_code

    assert call("203.0.113.7") == ("203.0.113.7", 200)
    assert call("198.51.100.99, 203.0.113.7") == ("203.0.113.7", 200)  # a forged first entry
    assert call("203.0.113.7")[1] == 429
    assert call("203.0.113.8") == ("203.0.113.8", 200)  # another visitor behind the same proxy
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5")  # a probe straight to the server
    assert audit.client_ip(request) == "10.0.0.5"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0  # development: the header is anyone's to send
    assert call("203.0.113.9")[0] == "10.0.0.5"
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"  # a proxy that names the client itself
    named = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_REAL_IP="203.0.113.10")
    assert audit.client_ip(named) == "203.0.113.10"
    probe = RequestFactory().get("/", REMOTE_ADDR="10.0.0.6")
    assert audit.client_ip(probe) == "10.0.0.6"  # without the header: not one shared "unknown"


def test_a_request_refused_by_one_of_several_limits_uses_none_of_the_others():
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    @ratelimit.ratelimits(("test-minute", "5/m"), ("test-day", "1/d"))
    def both(request):
        return HttpResponse("ok")

    @ratelimit.ratelimit("test-minute", "5/m")
    def minute_only(request):
        return HttpResponse("ok")

    def call(view):
        request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.20")
        request.user = AnonymousUser()
        return view(request).status_code

    assert [call(both), call(both)] == [200, 429]  # the day's one used; the minute's: one, not two
    assert [call(minute_only) for _ in range(5)] == [200, 200, 200, 200, 429]


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


def test_rate_limit_counts_the_window_once_when_two_requests_open_it_together(monkeypatch):
    """The first request of a window finds no counter; when another request creates it in between,
    this one is counted on top rather than starting the window again."""
    from django.core.cache import caches

    cache = caches["default"]
    real_add = cache.add

    def add_after_a_rival(key, value, timeout=None):
        real_add(key, value, timeout=timeout)  # the rival request got there first
        return real_add(key, value, timeout=timeout)

    monkeypatch.setattr(cache, "add", add_after_a_rival)
    assert ratelimit.hit("race", "198.51.100.9", "2/m") == 0  # the rival's 1, then this one's 2
    monkeypatch.setattr(cache, "add", real_add)
    assert ratelimit.hit("race", "198.51.100.9", "2/m") > 0  # the third in the window


def test_rate_limit_starts_again_when_the_counter_is_gone():
    from django.core.cache import cache

    assert [ratelimit.hit("gone", "198.51.100.10", "2/m") for _ in range(3)][-1] > 0
    cache.clear()  # evicted
    assert ratelimit.hit("gone", "198.51.100.10", "2/m") == 0


def test_a_request_that_does_several_things_counts_each_against_the_limit():
    """``cost``: a form licensing five tracks uses five of the download limit, whether it opens the
    window or counts on in it."""
    assert ratelimit.hit("cost", "198.51.100.11", "6/m", cost=5) == 0  # opens the window at 5
    assert ratelimit.hit("cost", "198.51.100.11", "6/m") == 0  # 6
    assert ratelimit.hit("cost", "198.51.100.11", "6/m", cost=2) > 0  # 8: over


def test_cached_links_are_the_urls_reverse_gives(settings):
    from django.template import Context, Template
    from django.urls import reverse, set_script_prefix

    from allmytracks.links import cached_reverse

    expected = reverse("catalog:track-detail", args=["a-slug"])
    assert cached_reverse("catalog:track-detail", "a-slug") == expected
    try:
        set_script_prefix("/shop/")  # mounted under a prefix: a key of its own
        assert cached_reverse("catalog:track-list") == "/shop/tracks/" == reverse("catalog:track-list")
    finally:
        set_script_prefix("/")
    assert cached_reverse("catalog:track-list") == "/tracks/"
    html = Template(
        "{% load site_links %}{% site_url 'catalog:track-list' %}|{% site_url 'no-such-page' as x %}[{{ x }}]"
    ).render(Context())
    assert html == "/tracks/|[]"  # like {% url … as x %}, an unknown name gives ""


def _only_here(request):
    from django.http import HttpResponse

    return HttpResponse()


# The URLconf of ``test_cached_links_follow_a_changed_urlconf``.
urlpatterns = [path("only-here/", _only_here, name="only-here")]


def test_cached_links_follow_a_changed_urlconf(settings):
    from django.urls import NoReverseMatch

    from allmytracks.links import cached_reverse

    with pytest.raises(NoReverseMatch):
        cached_reverse("only-here")
    settings.ROOT_URLCONF = __name__
    assert cached_reverse("only-here") == "/only-here/"
    settings.ROOT_URLCONF = "allmytracks.urls"
    with pytest.raises(NoReverseMatch):
        cached_reverse("only-here")


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_process_memo_keeps_its_value_for_its_seconds_only(monkeypatch):
    from allmytracks import memo

    clock = _Clock()
    monkeypatch.setattr(memo, "_now", clock)
    kept = memo.ProcessMemo(2.0)
    assert kept.get() is None  # nothing yet
    value = {"genre": []}
    assert kept.set(value) is value
    clock.now += 1.9
    assert kept.get() is value
    clock.now += 0.2  # the moment is over: the caller reads the shared cache again
    assert kept.get() is None
    kept.set([])  # an empty list is a value like any other
    assert kept.get() == []
    kept.forget()  # a change made in this process
    assert kept.get() is None


def test_process_memos_forget_what_they_kept_when_the_shared_cache_changes(settings):
    from allmytracks.memo import ProcessMemo

    kept = ProcessMemo(60)
    kept.set("from the old cache")
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    assert kept.get() is None


def test_whole_numbers_from_outside_text():
    from allmytracks.numbers import whole_number

    assert whole_number("42") == 42 and whole_number(" 7 ") == 7 and whole_number(12) == 12
    for odd in (None, "", "-1", "1.5", "4e3", "²", "①", "٤٢", "9" * 19):
        assert whole_number(odd) is None


@pytest.mark.django_db
def test_pages_answer_head_as_they_answer_get(client):
    """Monitors and load balancers ask with HEAD: a page that answers GET answers HEAD too."""
    for url in ("/", "/healthz", "/robots.txt", "/tracks/", "/sounds/", "/pricing/", "/legal/"):
        response = client.head(url)
        assert response.status_code in (200, 503), url  # /healthz: 503 when a service is down
        assert response.content == b""


def test_emails_in_the_site_look_link_only_the_sites_own_addresses(settings):
    """The HTML part of a text email (``emails/_layout.html``) links the site's own addresses; an
    address in what a member typed into the text stays plain, escaped text."""
    from django.template.loader import render_to_string

    settings.SITE_URL = "https://allmytracks.example"
    text = (
        'Hello <b>Jane</b> see https://evil.example/pay?a=1&b="2" or www.evil.example,\n'
        "and confirm at https://allmytracks.example/accounts/confirm-email/abc/."
    )
    html = render_to_string("emails/_layout.html", {"text_body": text, "subject": "Hello"})
    assert '<a href="https://allmytracks.example/accounts/confirm-email/abc/">' in html
    assert "confirm-email/abc/</a>." in html  # the sentence's full stop is not part of the link
    assert "evil.example/pay?a=1&amp;b=&quot;2&quot;" in html and 'href="https://evil' not in html
    assert "&lt;b&gt;Jane&lt;/b&gt;" in html and "<b>Jane" not in html
    assert 'href="https://allmytracks.example.evil' not in render_to_string(
        "emails/_layout.html", {"text_body": "https://allmytracks.example.evil.test/x"}
    )
    # Links allauth makes from the host the member used (one the site answers on) are the site's too.
    settings.ALLOWED_HOSTS = [".allmytracks.example"]
    html = render_to_string(
        "emails/_layout.html",
        {
            "text_body": "Confirm: https://www.allmytracks.example/accounts/confirm-email/k/ not https://allmytracks.example@evil.test/"
        },
    )
    assert '<a href="https://www.allmytracks.example/accounts/confirm-email/k/">' in html
    assert 'href="https://allmytracks.example@evil' not in html
