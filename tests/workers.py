"""Real processes for the tests that need one: a Celery worker (CI runs those with Redis), `make run`."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def background_process(command, env, log_path):
    """``command`` running in its own process group with ``env``, its output in ``log_path``; the
    whole group is stopped on exit (``make run`` starts children of its own)."""
    with Path(log_path).open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: what the test ran for is done
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@contextmanager
def celery_worker(env, queues, log_path):
    """A solo worker on ``queues`` with ``env``, its output in ``log_path``; stopped on exit."""
    command = [sys.executable, "-m", "celery", "-A", "allmytracks", "worker", "--pool=solo"]
    command += ["-Q", ",".join(queues), "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with background_process([*command, "--loglevel=WARNING"], env, log_path) as worker:
        yield worker
