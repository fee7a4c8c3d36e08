"""A notice fanned out by a real Celery worker over Redis, in bounded batches (CI runs it)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.workers import celery_worker

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from accounts.models import User
from legal.models import Notice
for i in range(5):
    User.objects.create_user(f"worker{i}@example.com", "a-Long-test-passw0rd")
notice = Notice.objects.create(subject="Maintenance on Sunday", body="One hour.", send_message=True)
print("NOTICE", notice.pk)
"""

START = """
from legal import services
from legal.models import Notice
services.start_notice(notice=Notice.objects.get(pk={pk}), actor=None)
"""

STATUS = """
from legal.models import Notice, NoticeDelivery
n = Notice.objects.get(pk={pk})
sent = NoticeDelivery.objects.filter(notice=n, channel="email", status="sent").count()
print("STATUS", n.status, n.batches, sent)
"""


def manage(env, *args, timeout=120):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.redis
def test_a_real_worker_sends_a_notice_in_batches_one_email_per_user(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DJANGO_ENV": "test",
        "REDIS_URL": os.environ["TEST_REDIS_URL"],
        "AMT_VAR_DIR": str(tmp_path),
        "LEGAL_NOTICE_BATCH_SIZE": "2",
    }
    manage(env, "migrate", "-v0", timeout=300)
    pk = int(manage(env, "shell", "-c", SETUP).split("NOTICE")[1].split()[0])
    with celery_worker(env, ["default", "email"], tmp_path / "worker.log"):
        manage(env, "shell", "-c", START.format(pk=pk))
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline:
            status = manage(env, "shell", "-c", STATUS.format(pk=pk))
            if "STATUS done" in status:
                break
            time.sleep(1)
        log_text = (tmp_path / "worker.log").read_text(errors="replace")
        assert "STATUS done 3 5" in status, status + log_text  # 2 + 2 + 1 recipients
        mails = "".join(p.read_text(errors="replace") for p in (tmp_path / "mail").glob("*.log"))
        for i in range(5):
            assert mails.count(f"To: worker{i}@example.com") == 1
