"""Fixtures for the whole suite: the three personas, settings for tests, and the rules
that keep CI honest (no network but loopback, no skipped tests when REQUIRE_NO_SKIPS)."""

import gc
import os
import warnings

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory

pytest_plugins = ["tests.browser.fixtures"]


def pytest_configure(config):
    if settings.PRODUCTION:
        raise pytest.UsageError("Run the tests with DJANGO_ENV=test (make test does).")


# --- settings every test gets ---------------------------------------------------------


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
    }
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _rate_limit_clock(monkeypatch):
    """Rate limits count in fixed windows; a test's requests must not straddle a window's edge
    (21 requests on a loaded machine can take seconds, and a minute turning over in between
    starts the count again). The limiter's clock stands at the start of a day for every test."""
    from types import SimpleNamespace

    import allmytracks.ratelimit

    monkeypatch.setattr(allmytracks.ratelimit, "time", SimpleNamespace(time=lambda: 20833 * 86400 + 1))


@pytest.fixture(autouse=True)
def _celery_eager():
    from allmytracks.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


# --- the three personas ---------------------------------------------------------------


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.com", display_name="Olivia Owner")


@pytest.fixture
def other(db):
    return UserFactory(email="other@example.com", display_name="Oscar Other")


@pytest.fixture
def staff(db):
    return StaffFactory(email="staff@allmytracks.test")


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(db, other):
    from django.test import Client

    c = Client()
    c.force_login(other)
    return c


@pytest.fixture
def anon_client(db):
    from django.test import Client

    return Client()


@pytest.fixture
def staff_client(db, staff):
    from django.test import Client

    c = Client()
    c.force_login(staff)
    return c


# --- markers that need real services ----------------------------------------------------


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI runs these)")
    if item.get_closest_marker("redis") and not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("needs Redis: set TEST_REDIS_URL (CI runs these)")
    if item.get_closest_marker("s3") and not os.environ.get("TEST_S3_ENDPOINT_URL"):
        pytest.skip("needs an S3 server: set TEST_S3_ENDPOINT_URL (CI runs these)")
    if item.get_closest_marker("smtp") and not os.environ.get("TEST_SMTP_MAILDIR"):
        pytest.skip("needs an SMTP sink: set TEST_SMTP_HOST/PORT/MAILDIR (CI runs these)")


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config):
    """Connections still open when the whole run ends (a broker or cache client kept by a
    module-level app) are closed by the interpreter; that is not a test's leak. Leaks inside
    a test still fail that test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """In CI (REQUIRE_NO_SKIPS=1) a skipped test fails the run: every test must have run."""
    if not os.environ.get("REQUIRE_NO_SKIPS"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"REQUIRE_NO_SKIPS: {len(skipped)} test(s) skipped; CI must run them all.", red=True
        )
        for report in skipped:
            reporter.write_line(
                f"  skipped: {report.nodeid} ({report.longrepr[-1] if report.longrepr else ''})"
            )
        session.exitstatus = 1
