"""Fill an empty catalogue with synthesised, listenable demo tracks and sound effects.

Every file is made with numpy, encoded by ffmpeg, tagged with mutagen (with cover art) and
then run through the real ingest pipeline. Does nothing when the catalogue has tracks.
"""

import os
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from catalog import demo
from catalog.ingest import IngestError, ingest_path
from catalog.models import Track


class Command(BaseCommand):
    help = "Create a demo catalogue of real audio (only when the catalogue is empty)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--count", type=int, default=200, help="How many tracks and sound effects (default 200)."
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=os.cpu_count() or 1,
            help="Processes that synthesise audio (default: CPUs).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Add the demo even if the catalogue has tracks."
        )

    def handle(self, *args, count, jobs, force, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo is for development and demo sites only.")
        if Track.objects.exists() and not force:
            self.stdout.write("Catalogue already has tracks: demo catalogue not added.")
            return
        if count < 1:
            raise CommandError("--count must be at least 1.")
        items = demo.plan(count)
        self.save_lock = threading.Lock()
        demo.ensure_taxonomies()
        self.stdout.write(f"Making {len(items)} demo tracks and sound effects (synthesised, then ingested)…")
        started = time.monotonic()
        done = failed = files = 0
        items_by_track = {}
        with tempfile.TemporaryDirectory(prefix="amt-demo-") as folder:
            if jobs <= 1:
                results = (
                    self._ingest(items[i], rendered) for i, rendered in self._rendered(items, folder, 1)
                )
                for outcome in results:
                    done, failed, files = self._count(outcome, items_by_track, done, failed, files)
                    self._progress(done + failed, len(items), started)
            else:
                # Synthesis in processes, ingest in threads (ffmpeg runs outside the GIL).
                with ThreadPoolExecutor(max_workers=jobs) as threads:
                    pending = set()
                    # Each item is ingested as soon as it is synthesised, and counted as soon as
                    # it is in: the progress moves from the first track, not after the last synthesis.
                    for i, rendered in self._rendered(items, folder, jobs):
                        pending.add(threads.submit(self._ingest, items[i], rendered))
                        finished = {future for future in pending if future.done()}
                        pending -= finished
                        for future in finished:
                            done, failed, files = self._count(
                                future.result(), items_by_track, done, failed, files
                            )
                            self._progress(done + failed, len(items), started)
                    for future in as_completed(pending):
                        done, failed, files = self._count(
                            future.result(), items_by_track, done, failed, files
                        )
                        self._progress(done + failed, len(items), started)
        demo.finish(items_by_track, now=timezone.now())
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue: {done} tracks ({files} files) in {time.monotonic() - started:.0f} s"
                + (f", {failed} failed" if failed else "")
                + "."
            )
        )

    def _ingest(self, item, rendered):
        """Ingest one item's files, main file first; returns (item, track id or None, files, error)."""
        track_id, count = None, 0
        try:
            for path, version_options in rendered:
                options = {**demo.track_options(item), **version_options}
                if track_id:
                    options["track_id"] = track_id
                try:
                    result = ingest_path(path, options=options, save_lock=self.save_lock)
                except IngestError as exc:
                    return item, track_id, count, str(exc)
                finally:
                    path.unlink(missing_ok=True)
                count += 1
                track_id = result.version.track_id
        finally:
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()
        return item, track_id, count, ""

    def _count(self, outcome, items_by_track, done, failed, files):
        item, track_id, count, error = outcome
        if error:
            self.stderr.write(f"\n  {item.title}: {error}")
        if track_id:
            items_by_track[track_id] = item
            done += 1
        else:
            failed += 1
        return done, failed, files + count

    def _rendered(self, items, folder, jobs):
        if jobs <= 1:
            for item in items:
                yield item.index, demo.render(item, folder)
            return
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            yield from pool.map(demo.render_job, [(item, folder) for item in items])

    def _progress(self, n, total, started):
        width = 30
        filled = int(width * n / total)
        elapsed = time.monotonic() - started
        bar = "#" * filled + "." * (width - filled)
        # The first files also pay for starting the workers: no guess until a few are done.
        if n >= max(5, total // 20):
            left = f"about {elapsed / n * (total - n):.0f} s left"
        else:
            left = "working out the time left"
        if self.stdout.isatty():
            self.stdout.write(f"\r  [{bar}] {n}/{total}  {elapsed:.0f} s, {left}   ", ending="")
            self.stdout.flush()
        elif n == total or n * 10 // total != (n - 1) * 10 // total:  # a log: a line each tenth
            self.stdout.write(f"  {n}/{total}  {elapsed:.0f} s, {left}")
