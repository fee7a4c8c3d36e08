"""A real Celery worker process for the tests that need one (CI runs them with Redis)."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def celery_worker(env, queues, log_path):
    """A solo worker on ``queues`` with ``env``, its output in ``log_path``; stopped on exit."""
    command = [sys.executable, "-m", "celery", "-A", "allmytracks", "worker", "--pool=solo"]
    command += ["-Q", ",".join(queues), "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with Path(log_path).open("wb") as log:
        worker = subprocess.Popen(
            [*command, "--loglevel=WARNING"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
