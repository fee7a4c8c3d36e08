"""Ingest benchmark: one track through the whole pipeline vs. the bare ffmpeg preview transcode.

Target (DESIGN §3): ingest (metadata, artwork, preview, peaks) ≤ 1.2× the bare transcode of the
same file to a 128 kbps MP3. Makes a 3-minute stereo WAV with numpy (tagged, with cover art),
then times, best of N runs each: the bare transcode, and ``catalog.ingest.ingest_path`` into a
throwaway SQLite database and temporary storages. Not part of the test suite.

    DJANGO_ENV=test .venv/bin/python bench/ingest.py [--seconds 180] [--runs 3]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="amt-bench-ingest-"))
    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ["AMT_VAR_DIR"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["PRIVATE_ROOT"] = str(tmp / "private")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmytracks.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, skip_checks=True)

    from catalog import synth
    from catalog.ingest import ffmpeg_exe, ingest_path
    from catalog.models import Track

    layers = synth.compose(
        key="D", mode="minor", bpm=110, seconds=args.seconds, lead="piano", chords="pad", seed=5
    )
    source = synth.encode(synth.mix(layers), tmp / "bench.wav", "wav")
    cover = synth.artwork("Bench", "AllMyTracks", [(30, 30, 90), (220, 90, 90), (255, 220, 120)], size=3000)
    synth.tag_file(source, "wav", title="Bench", artist="Bench Artist", bpm=110, key="Dm", picture=cover)
    size_mb = source.stat().st_size / 2**20

    bare = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(
            [
                ffmpeg_exe(),
                "-nostdin",
                "-v",
                "error",
                "-i",
                str(source),
                "-map",
                "0:a:0",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "128k",
                "-y",
                str(tmp / "bare.mp3"),
            ],
            check=True,
        )
        bare.append(time.perf_counter() - start)

    full = []
    for _ in range(args.runs):
        Track.objects.all().delete()
        start = time.perf_counter()
        ingest_path(source)
        full.append(time.perf_counter() - start)

    b, f = min(bare), min(full)
    print(f"source: {args.seconds:.0f} s stereo WAV, {size_mb:.1f} MB, with a 3000×3000 JPEG cover")
    print(f"{'step':<44}{'best of ' + str(args.runs):>12}")
    print(f"{'bare ffmpeg → 128 kbps MP3':<44}{b * 1000:>10.0f} ms")
    print(f"{'ingest (hash, tags, artwork, preview, peaks)':<44}{f * 1000:>10.0f} ms")
    print(f"ratio: {f / b:.2f}× (target ≤ 1.20×)")
    return 0 if f / b <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
