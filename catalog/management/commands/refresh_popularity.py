"""``manage.py refresh_popularity``: work out every track's popularity and trending figure from its
use now.

Celery beat runs the same every night (``catalog.tasks.refresh_popularity``); this is for after an
import or a change of boosts that should show before then. Tracks whose figure changes move in the
search table's popularity order only after ``manage.py rebuild_search``.
"""

import time

from django.core.management.base import BaseCommand

from catalog.services import POPULARITY_WEIGHTS, TRENDING_DAYS, refresh_popularity


class Command(BaseCommand):
    help = (
        "Work out every track's popularity from plays, favourites and licences, plus its boost, and its "
        "trending figure from this week's."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        changed = refresh_popularity()
        weights = ", ".join(f"{use} ×{weight}" for use, weight in POPULARITY_WEIGHTS.items())
        tracks = "track" if changed == 1 else "tracks"
        self.stdout.write(
            f"{changed:,} {tracks} changed popularity or trending ({weights}; popularity plus the "
            f"editorial boost, trending over the last {TRENDING_DAYS} days)."
        )
        self.stdout.write(self.style.SUCCESS(f"Done in {time.perf_counter() - started:.1f} s."))
