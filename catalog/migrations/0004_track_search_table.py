# ruff: noqa: S608
# The SQL here is assembled from constants only.
"""The narrow search table (PostgreSQL only; SQLite searches with simple matching and skips this).

``catalog_tracksearch`` holds one row per searchable track (published and ready) with only what a
search reads: the vector, the tag id arrays, the filter and sort columns. A row is ~500 bytes
against ~1 KB for the track (description, artwork names, waveform, …), and the table is clustered
by popularity, so the bounded candidate walk (the best matches by popularity) reads consecutive
pages and stops early, instead of one random heap page per row of the track table.

It is kept current by an AFTER trigger on ``catalog_track``: the BEFORE trigger of
``0002_search_index`` computes the vector and arrays (and is fired by every M2M, artist,
taxonomy and category change), then this one copies the row — or removes it when the track is
deleted, unpublished or not ready. New rows land at the end of the table; ``CLUSTER
catalog_tracksearch`` (now ``manage.py rebuild_search``: ``catalog.search_index``) restores the popularity order.
"""

from django.db import migrations

COLUMNS = (
    "id, popularity, created_at, kind, bpm, duration_seconds, key, vocals, energy, explicit,"
    " sound_category_id, genre_ids, mood_ids, instrument_ids, theme_ids, keys, search_vector"
)


def _values(row):
    return (
        f"{row}.id, {row}.popularity, {row}.created_at, {row}.kind, {row}.bpm, {row}.duration_seconds,"
        f" {row}.key, {row}.vocals, {row}.energy, {row}.explicit, {row}.sound_category_id,"
        f" {row}.genre_ids::int[], {row}.mood_ids::int[], {row}.instrument_ids::int[],"
        f" {row}.theme_ids::int[], catalog_tracksearch_keys({row}.kind, {row}.vocals, {row}.key,"
        f" {row}.energy, {row}.explicit, {row}.sound_category_id),"
        f" coalesce({row}.search_vector, ''::tsvector)"
    )


FORWARD = [
    # The scalar filters as keys of the same GIN index as the vector and the tag arrays, so one
    # index scan intersects every filter: "k:music", "v:none", "key:C#", "e:4", "x:0" (explicit),
    # "c:<sound category id>".
    """
CREATE FUNCTION catalog_tracksearch_keys(kind text, vocals text, key text, energy int, explicit boolean,
                                         category bigint) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['k:' || kind, 'v:' || vocals, 'key:' || key, 'e:' || energy, 'x:' || explicit::int]
         || CASE WHEN category IS NULL THEN '{}'::text[] ELSE ARRAY['c:' || category] END
$$;
CREATE TABLE catalog_tracksearch (
  id bigint PRIMARY KEY,
  popularity integer NOT NULL,
  created_at timestamptz NOT NULL,
  kind varchar(5) NOT NULL,
  bpm smallint,
  duration_seconds double precision NOT NULL,
  key varchar(2) NOT NULL,
  vocals varchar(6) NOT NULL,
  energy smallint NOT NULL,
  explicit boolean NOT NULL,
  sound_category_id bigint,
  genre_ids int[] NOT NULL,
  mood_ids int[] NOT NULL,
  instrument_ids int[] NOT NULL,
  theme_ids int[] NOT NULL,
  keys text[] NOT NULL,
  search_vector tsvector NOT NULL
);
""",
    f"""
INSERT INTO catalog_tracksearch ({COLUMNS})
SELECT {_values("t")} FROM catalog_track t
 WHERE t.is_published AND t.ingest_status = 'ready'
 ORDER BY t.popularity DESC, t.id DESC;
""",
    """
CREATE INDEX catalog_tracksearch_popular ON catalog_tracksearch (popularity DESC, id DESC);
CREATE INDEX catalog_tracksearch_newest ON catalog_tracksearch (created_at DESC, id DESC);
CREATE INDEX catalog_tracksearch_bpm ON catalog_tracksearch (bpm, id);
CREATE INDEX catalog_tracksearch_duration ON catalog_tracksearch (duration_seconds, id);
CREATE INDEX catalog_tracksearch_match ON catalog_tracksearch
  USING gin (search_vector, genre_ids, mood_ids, instrument_ids, theme_ids, keys);
-- Ranges are filtered as "bpm + 0" (so no bitmap of a wide range is AND-ed in); these give
-- the planner the expressions' real distributions.
CREATE STATISTICS catalog_tracksearch_bpm_range ON (bpm + 0) FROM catalog_tracksearch;
CREATE STATISTICS catalog_tracksearch_duration_range ON (duration_seconds + 0) FROM catalog_tracksearch;
ALTER TABLE catalog_tracksearch CLUSTER ON catalog_tracksearch_popular;
ANALYZE catalog_tracksearch;
""",
    f"""
CREATE OR REPLACE FUNCTION catalog_tracksearch_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM catalog_tracksearch WHERE id = OLD.id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
    DELETE FROM catalog_tracksearch WHERE id = OLD.id;
  END IF;
  IF NEW.is_published AND NEW.ingest_status = 'ready' THEN
    INSERT INTO catalog_tracksearch ({COLUMNS}) VALUES ({_values("NEW")})
    ON CONFLICT (id) DO UPDATE SET
      popularity = EXCLUDED.popularity, created_at = EXCLUDED.created_at, kind = EXCLUDED.kind,
      bpm = EXCLUDED.bpm, duration_seconds = EXCLUDED.duration_seconds, key = EXCLUDED.key,
      vocals = EXCLUDED.vocals, energy = EXCLUDED.energy, explicit = EXCLUDED.explicit,
      sound_category_id = EXCLUDED.sound_category_id, genre_ids = EXCLUDED.genre_ids,
      mood_ids = EXCLUDED.mood_ids, instrument_ids = EXCLUDED.instrument_ids,
      theme_ids = EXCLUDED.theme_ids, keys = EXCLUDED.keys, search_vector = EXCLUDED.search_vector;
  ELSE
    DELETE FROM catalog_tracksearch WHERE id = NEW.id;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER catalog_tracksearch_sync AFTER INSERT OR UPDATE OR DELETE ON catalog_track
  FOR EACH ROW EXECUTE FUNCTION catalog_tracksearch_sync();
-- TRUNCATE fires no row triggers (a bulk load, a test database flush): empty the copy with it.
CREATE OR REPLACE FUNCTION catalog_tracksearch_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE catalog_tracksearch;
  RETURN NULL;
END
$$;
CREATE TRIGGER catalog_tracksearch_truncate AFTER TRUNCATE ON catalog_track
  FOR EACH STATEMENT EXECUTE FUNCTION catalog_tracksearch_truncate();
""",
]

BACKWARD = [
    """
DROP TRIGGER IF EXISTS catalog_tracksearch_truncate ON catalog_track;
DROP FUNCTION IF EXISTS catalog_tracksearch_truncate();
DROP TRIGGER IF EXISTS catalog_tracksearch_sync ON catalog_track;
DROP FUNCTION IF EXISTS catalog_tracksearch_sync();
DROP TABLE IF EXISTS catalog_tracksearch;
DROP FUNCTION IF EXISTS catalog_tracksearch_keys(text, text, text, int, boolean, bigint);
""",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in FORWARD:
        schema_editor.execute(sql, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in BACKWARD:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_failed_ingest_list")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
