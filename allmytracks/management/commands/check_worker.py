"""Send a ping through the broker and wait for a worker to answer (deploy smoke check)."""

import secrets
import time

from django.core.cache import cache
from django.core.management import BaseCommand, CommandError

from allmytracks.tasks import ping


class Command(BaseCommand):
    help = "Check that a Celery worker consumes tasks from the broker."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args, timeout, **options):
        token = secrets.token_hex(8)
        ping.delay(token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cache.get(f"worker-ping:{token}"):
                self.stdout.write(self.style.SUCCESS("A worker answered."))
                return
            time.sleep(0.2)
        raise CommandError(f"No worker answered within {timeout:.0f} s.")
