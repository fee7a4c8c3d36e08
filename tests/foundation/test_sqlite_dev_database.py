"""The laptop's SQLite database (``make run``) under concurrent requests: two requests that read and
then write (a download form sent from two tabs) wait for each other instead of one failing."""

import threading
from contextlib import suppress

from django.conf import settings
from django.db.backends.sqlite3.base import DatabaseWrapper


def _connection(path, options):
    return DatabaseWrapper(
        {
            "NAME": str(path),
            "OPTIONS": dict(options),
            "ATOMIC_REQUESTS": False,
            "AUTOCOMMIT": True,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "TIME_ZONE": None,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        }
    )


def _read_then_write_from_two_threads(path, options):
    setup = _connection(path, options)
    with setup.cursor() as cur:
        cur.execute("CREATE TABLE counter (n integer)")
        cur.execute("INSERT INTO counter VALUES (0)")
    setup.close()
    both_read, errors = threading.Barrier(2, timeout=2), []

    def work():
        conn = _connection(path, options)
        try:
            conn.set_autocommit(
                False, force_begin_transaction_with_broken_autocommit=True
            )  # as atomic() does
            with conn.cursor() as cur:
                cur.execute("SELECT n FROM counter")  # the read that comes first
                # The other transaction may hold the lock from its start: then they never meet midway.
                with suppress(threading.BrokenBarrierError):
                    both_read.wait()
                cur.execute("UPDATE counter SET n = n + 1")
            conn.commit()
        except Exception as exc:  # the failure is the finding
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = _connection(path, options)
    with check.cursor() as cur:
        cur.execute("SELECT n FROM counter")
        total = cur.fetchone()[0]
    check.close()
    return total, errors


def test_two_requests_that_read_then_write_both_succeed_on_the_dev_database(tmp_path, django_db_blocker):
    with django_db_blocker.unblock():  # a database of its own, not the test database
        total, errors = _read_then_write_from_two_threads(tmp_path / "dev.sqlite3", settings.SQLITE_OPTIONS)
    assert errors == [] and total == 2


def test_without_taking_the_lock_at_the_start_one_of_them_fails(tmp_path, django_db_blocker):
    """What the setting prevents: SQLite's default transactions fail the upgrade at once."""
    options = {key: value for key, value in settings.SQLITE_OPTIONS.items() if key != "transaction_mode"}
    with django_db_blocker.unblock():
        total, errors = _read_then_write_from_two_threads(tmp_path / "dev.sqlite3", options)
    assert total == 1 and len(errors) == 1 and "locked" in str(errors[0])
