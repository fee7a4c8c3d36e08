"""Import every audio file under a folder into the catalogue, with progress and a summary.

Each file becomes an ingest job (so failures are listed in admin with their reason and can
be retried) and is processed here, one after another — or queued for the Celery "ingest"
workers with --queue. Running the command again on the same folder changes nothing:
files already in the catalogue are skipped as duplicates, and files that already failed are
reported again rather than imported twice.
"""

import time
from pathlib import Path

from django.core.files import File
from django.core.management import BaseCommand, CommandError

from allmytracks.tasks import enqueue_on_commit
from catalog import ingest
from catalog.models import IngestJob, Track
from catalog.tasks import ingest_job


class Command(BaseCommand):
    help = "Import the audio files (WAV, FLAC, AIFF, MP3) under DIR into the catalogue."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Folder to import (searched recursively).")
        parser.add_argument("--kind", choices=[c for c, _ in Track.Kind.choices], default="music")
        who = parser.add_mutually_exclusive_group()
        who.add_argument(
            "--artist", default="", help="Artist of every imported file (in place of the files' artist tags)."
        )
        who.add_argument(
            "--default-artist",
            default="",
            help="Artist of the files whose tags name none (files that name their artist keep it).",
        )
        parser.add_argument("--genres", default="", help="Comma-separated genres for every file.")
        parser.add_argument("--publish", action="store_true", help="Publish each track once it is ingested.")
        parser.add_argument(
            "--queue", action="store_true", help="Queue the files for the Celery ingest workers."
        )

    def handle(self, *args, directory, kind, artist, default_artist, genres, publish, queue, **options):
        root = Path(directory)
        if not root.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            self.stdout.write("No files found.")
            return
        base_options = {"kind": kind, "publish": publish}
        if artist:
            base_options["artist"] = artist
        if default_artist:
            base_options["default_artist"] = default_artist
        if genres:
            base_options["genres"] = genres
        imported, skipped, failed, queued = [], [], [], []
        started = time.monotonic()
        for n, path in enumerate(files, 1):
            self._progress(n - 1, len(files), path.name, started)
            try:
                content_hash = ingest.file_hash(path)
            except OSError as exc:
                failed.append((path, f"Cannot read the file: {exc}"))
                continue
            duplicate = ingest.find_duplicate(content_hash)
            if duplicate is not None:
                skipped.append(
                    (path, f"already in the catalogue as “{duplicate.track.title}” ({duplicate.label})")
                )
                continue
            earlier = (
                IngestJob.objects.filter(options__content_hash=content_hash).exclude(status="done").first()
            )
            if earlier is not None:
                if earlier.status == IngestJob.Status.FAILED:
                    failed.append((path, f"{earlier.error} (failed before: retry it in admin)"))
                else:
                    skipped.append((path, "already queued for ingest"))
                continue
            with open(path, "rb") as fh:
                job = ingest.create_job(
                    File(fh),
                    filename=path.name,
                    source=IngestJob.Source.IMPORT,
                    options={**base_options, "content_hash": content_hash},
                )
            if queue:
                enqueue_on_commit(ingest_job, job.pk)
                queued.append(path)
                continue
            job = ingest.run_job(job.pk)
            if job.status == IngestJob.Status.FAILED:
                failed.append((path, job.error))
            elif job.duplicate_of_id:
                skipped.append((path, job.error))
            else:
                imported.append(path)
        self._progress(len(files), len(files), "", started)
        self.stdout.write("\n")
        self._summary(imported, skipped, failed, queued, root)

    def _progress(self, n, total, name, started):
        width = 30
        filled = int(width * n / total)
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.monotonic() - started
        self.stdout.write(f"\r  [{bar}] {n}/{total} {elapsed:4.0f} s  {name[:40]:<40}", ending="")
        self.stdout.flush()

    def _summary(self, imported, skipped, failed, queued, root):
        parts = [f"{len(imported)} imported", f"{len(skipped)} skipped", f"{len(failed)} failed"]
        if queued:
            parts.append(f"{len(queued)} queued")
        style = self.style.ERROR if failed else self.style.SUCCESS
        self.stdout.write(style("Summary: " + ", ".join(parts) + "."))
        for title, rows in (("Skipped", skipped), ("Failed", failed)):
            if rows:
                self.stdout.write(f"{title}:")
                for path, reason in rows:
                    self.stdout.write(f"  {path.relative_to(root)}: {reason}")
