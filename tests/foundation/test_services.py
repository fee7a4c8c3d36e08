"""The real services CI provides: S3 (moto server), Redis with a real Celery worker,
an SMTP sink, and the `make run` development server."""

import email
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from tests.workers import background_process, celery_worker

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_storages(settings):
    import boto3

    endpoint = os.environ["TEST_S3_ENDPOINT_URL"]
    bucket = f"amt-test-{uuid.uuid4().hex[:8]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=bucket)
    client.close()
    common = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": "test",
        "secret_key": "test",
        "addressing_style": "path",
        "bucket_name": bucket,
        "file_overwrite": False,
        "signature_version": "s3v4",
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**common, "location": "public"}},
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**common, "location": "private", "default_acl": "private", "querystring_auth": True},
        },
    }
    yield bucket
    # The storages' connections to the S3 server are closed here, not left to the garbage collector
    # (which reports an unclosed socket in whichever later test it happens to run).
    for alias in ("default", "private"):
        storages[alias].connection.meta.client.close()


@pytest.mark.s3
def test_private_file_on_s3_gets_a_presigned_expiring_attachment_url(s3_storages):
    from allmytracks.storage import private_download_url

    name = storages["private"].save("masters/song.wav", ContentFile(b"RIFF-s3-audio"))
    url = private_download_url(name, filename="Artist - Song (AMT-AAAA-BBBB).wav", max_age=120)
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=120" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"RIFF-s3-audio"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "AMT-AAAA-BBBB" in response.headers["Content-Disposition"]
    unsigned = url.split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(unsigned, timeout=10)
    assert denied.value.code == 403
    denied.value.close()


@pytest.mark.s3
@pytest.mark.django_db
def test_healthz_checks_the_s3_storage(s3_storages, anon_client, settings):
    assert anon_client.get("/healthz").json()["checks"]["storage"] == {"ok": True}
    settings.STORAGES["private"]["OPTIONS"]["bucket_name"] = "no-such-bucket-here"
    settings.STORAGES = dict(settings.STORAGES)
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


@pytest.mark.redis
def test_a_real_celery_worker_consumes_tasks_from_redis(tmp_path):
    """Start a worker process on Redis, send it a task from here, see its effect."""
    import redis

    redis_url = os.environ["TEST_REDIS_URL"]
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DJANGO_ENV": "test",
        "REDIS_URL": redis_url,
        "AMT_VAR_DIR": str(tmp_path),
    }
    with celery_worker(env, ["default"], tmp_path / "worker.log"):
        result = subprocess.run(
            [sys.executable, "manage.py", "check_worker", "--timeout", "60"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        worker_output = (tmp_path / "worker.log").read_text(errors="replace")
        assert result.returncode == 0, result.stdout + result.stderr + worker_output
        assert "A worker answered." in result.stdout
        with redis.Redis.from_url(redis_url) as client:
            assert client.keys("*worker-ping:*"), "the worker stored nothing in Redis"


@pytest.fixture
def smtp_sink(settings):
    """The default mailer pointed at the CI's SMTP sink; returns a function that waits (up to 10 s)
    until messages with all the given subjects have arrived in its maildir."""
    host, port = os.environ["TEST_SMTP_HOST"], int(os.environ["TEST_SMTP_PORT"])
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": host, "port": port},
        }
    }
    maildir = Path(os.environ["TEST_SMTP_MAILDIR"])

    def wait_for(subjects):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            arrived = {
                email.message_from_bytes(path.read_bytes())["Subject"]
                for path in maildir.glob("*/*")
                if path.is_file()
            }
            if set(subjects) <= arrived:
                return
            time.sleep(0.2)
        pytest.fail(f"{sorted(set(subjects) - arrived)} never reached the SMTP sink")

    return wait_for


@pytest.mark.smtp
def test_mail_goes_out_over_smtp_to_the_sink(smtp_sink):
    """With SMTP_URL set, MAILERS uses the SMTP backend; the CI sink stores what arrives."""
    from django.core.mail import EmailMessage

    subject = f"AllMyTracks SMTP check {uuid.uuid4().hex}"
    EmailMessage(subject, "Hello from the test.", to=["owner@example.com"]).send(using="default")
    smtp_sink([subject])


@pytest.mark.smtp
def test_a_batch_of_emails_goes_out_over_one_smtp_connection(smtp_sink):
    """``allmytracks.mail.mail_batch``: several messages over one real SMTP connection reach the sink."""
    from django.core.mail import EmailMessage

    from allmytracks.mail import mail_batch, send_on

    batch = uuid.uuid4().hex
    subjects = [f"AllMyTracks batch {batch} #{n}" for n in range(3)]
    with mail_batch() as mailer:
        for subject in subjects:
            send_on(mailer, EmailMessage(subject, "Hello.", to=["owner@example.com"]))
            assert mailer.connection is not None  # still open between messages
    assert mailer.connection is None  # closed at the end
    smtp_sink(subjects)


@pytest.mark.smoke
def test_make_run_serves_the_site_on_sqlite_and_answers_healthz(tmp_path):
    port = free_port()
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_", "REDIS", "AWS_"))
        },
        "AMT_VAR_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "DEMO_TRACK_COUNT": "6",
    }
    with background_process(["make", "run", f"PORT={port}"], env, tmp_path / "run.log") as server:
        deadline = time.monotonic() + 600
        body = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(1)
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert body is not None, output[-3000:]
        assert '"status": "ok"' in body
        assert "Staff account created" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert b"AllMyTracks" in response.read()
        assert (tmp_path / "var" / "db.sqlite3").exists()
