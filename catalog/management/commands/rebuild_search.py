"""``manage.py rebuild_search``: recompute the search word dictionary and rewrite the search table.

The triggers keep both current as tracks change; this is the periodic clean-up. The dictionary
loses the words of withdrawn tracks, and ``catalog_tracksearch`` is rewritten in popularity order,
which the search's candidate walk relies on (new and edited tracks land at the end of the table).
The rewrite runs while search goes on: track changes wait only for the final catch-up and swap
(under a second at a million tracks). ``--refill`` instead refills the table from the tracks under
its lock (about a minute per million tracks): for after a bulk load that ran with triggers off.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from catalog.search_index import (
    SearchTableBusy,
    rebuild_search_words,
    rebuild_track_search,
    reorder_track_search,
)


class Command(BaseCommand):
    help = "Recompute the search dictionary and rewrite the search table in popularity order (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--words-only", action="store_true", help="Only recompute the word dictionary.")
        parser.add_argument(
            "--refill",
            action="store_true",
            help="Refill the search table from the tracks under its lock (after a load with triggers off).",
        )

    def handle(self, *args, words_only=False, refill=False, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to rebuild: the search index exists on PostgreSQL only.")
            return
        started = time.perf_counter()
        words = rebuild_search_words()
        self.stdout.write(f"{words:,} words in the dictionary.")
        if not words_only:
            try:
                rows = rebuild_track_search() if refill else reorder_track_search()
            except SearchTableBusy as exc:
                raise CommandError(f"{exc} Nothing was changed; run it again later.") from exc
            self.stdout.write(f"{rows:,} tracks in the search table, in popularity order.")
        self.stdout.write(self.style.SUCCESS(f"Done in {time.perf_counter() - started:.1f} s."))
