"""The search index (PostgreSQL only; SQLite searches with simple matching and skips this).

What it adds to ``catalog_track`` (columns the ORM does not know about — the database owns them):

- ``search_vector``: weighted tsvector — title A, artist and album B, genres/moods/instruments/
  themes/sound category C, description D — with a GIN index.
- ``genre_ids``, ``mood_ids``, ``instrument_ids``, ``theme_ids``: the M2M ids copied into arrays
  with one GIN index, so filters are ``&&`` on the row and facet counts are ``unnest`` over a
  bounded set, with no join.

They are kept current by triggers, not by Python signals: a trigger also covers queryset
``update()``, ``bulk_create``, M2M ``set()``, admin bulk actions, raw SQL and the benchmark's
generated rows, and nothing can forget to call it.

- BEFORE INSERT/UPDATE OF (the searchable columns, and ``search_vector`` itself) on the track
  recomputes the vector and arrays from the row, its artist, its M2M rows and its category.
- AFTER INSERT/DELETE (statement level, transition tables) on each M2M table, AFTER UPDATE OF name
  on artists, taxonomies and sound categories "touch" the affected tracks
  (``SET search_vector = NULL``), which fires the BEFORE trigger.

``catalog_searchword`` is the dictionary of the published catalogue's distinct words (lower-case,
2–40 letters) with a trigram index: a misspelled query word is corrected against ~10k words, never
by ``title % 'x'`` over every track. New words are added by the BEFORE trigger; document counts and
removals come from ``manage.py rebuild_search`` (``catalog.search_index.rebuild_search_words``).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TAXONOMIES = [
    # (M2M table, its FK column to the taxonomy, taxonomy table, array column on the track)
    ("catalog_track_genres", "genre_id", "catalog_genre", "genre_ids"),
    ("catalog_track_moods", "mood_id", "catalog_mood", "mood_ids"),
    ("catalog_track_instruments", "instrument_id", "catalog_instrument", "instrument_ids"),
    ("catalog_track_themes", "theme_id", "catalog_theme", "theme_ids"),
]


def _fill_function():
    tax_blocks = "\n".join(
        f"""
  SELECT coalesce(array_agg(x.{fk} ORDER BY x.{fk}), '{{}}'), coalesce(string_agg(g.name, ' '), '')
    INTO NEW.{col}, part
    FROM {m2m} x JOIN {table} g ON g.id = x.{fk} WHERE x.track_id = NEW.id;
  tags := tags || ' ' || part;"""
        for m2m, fk, table, col in TAXONOMIES
    )
    return f"""
CREATE OR REPLACE FUNCTION catalog_track_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  artist_name text;
  tags text := '';
  part text;
BEGIN
  SELECT name INTO artist_name FROM catalog_artist WHERE id = NEW.artist_id;
  {tax_blocks}
  IF NEW.sound_category_id IS NOT NULL THEN
    SELECT concat_ws(' ', c.name, p.name, gp.name) INTO part
      FROM catalog_soundcategory c
      LEFT JOIN catalog_soundcategory p ON p.id = c.parent_id
      LEFT JOIN catalog_soundcategory gp ON gp.id = p.parent_id
     WHERE c.id = NEW.sound_category_id;
    tags := tags || ' ' || coalesce(part, '');
  END IF;
  NEW.search_vector :=
       setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(artist_name, '') || ' ' || coalesce(NEW.album, '')), 'B')
    || setweight(to_tsvector('english', tags), 'C')
    || setweight(to_tsvector('english', left(coalesce(NEW.description, ''), 4000)), 'D');
  IF NEW.is_published THEN
    INSERT INTO catalog_searchword (word, ndoc)
    SELECT DISTINCT w, 1
      FROM regexp_split_to_table(
             lower(concat_ws(' ', NEW.title, artist_name, NEW.album, tags, left(NEW.description, 4000))),
             '[^[:alnum:]]+') AS w
     WHERE length(w) BETWEEN 2 AND 40
    ON CONFLICT (word) DO NOTHING;
  END IF;
  RETURN NEW;
END
$$;
"""


FORWARD = [
    """
CREATE TABLE catalog_searchword (word text PRIMARY KEY, ndoc integer NOT NULL DEFAULT 1);
CREATE INDEX catalog_searchword_trgm ON catalog_searchword USING gin (word gin_trgm_ops);
CREATE INDEX catalog_searchword_prefix ON catalog_searchword (word text_pattern_ops);
ALTER TABLE catalog_track
  ADD COLUMN search_vector tsvector,
  ADD COLUMN genre_ids bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN mood_ids bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN instrument_ids bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN theme_ids bigint[] NOT NULL DEFAULT '{}';
CREATE INDEX catalog_track_search_gin ON catalog_track USING gin (search_vector);
CREATE INDEX catalog_track_tags_gin ON catalog_track USING gin (genre_ids, mood_ids, instrument_ids, theme_ids);
CREATE INDEX catalog_artist_lower_name ON catalog_artist (lower(name) text_pattern_ops);
""",
    _fill_function(),
    """
CREATE TRIGGER catalog_track_search_fill
  BEFORE INSERT OR UPDATE OF title, album, description, artist_id, sound_category_id, is_published, search_vector
  ON catalog_track FOR EACH ROW EXECUTE FUNCTION catalog_track_search_fill();

CREATE OR REPLACE FUNCTION catalog_track_search_touch_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_track SET search_vector = NULL WHERE id IN (SELECT track_id FROM new_rows);
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_track_search_touch_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_track SET search_vector = NULL WHERE id IN (SELECT track_id FROM old_rows);
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_artist_search_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_track SET search_vector = NULL WHERE artist_id = NEW.id;
  RETURN NULL;
END $$;
-- TG_ARGV: the M2M table and its column pointing at the renamed taxonomy row.
CREATE OR REPLACE FUNCTION catalog_taxonomy_search_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format(
    'UPDATE catalog_track SET search_vector = NULL WHERE id IN (SELECT track_id FROM %I WHERE %I = $1)',
    TG_ARGV[0], TG_ARGV[1]) USING NEW.id;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_soundcategory_search_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog_track SET search_vector = NULL
   WHERE sound_category_id IN (
     WITH RECURSIVE sub AS (
       SELECT NEW.id AS id UNION ALL SELECT c.id FROM catalog_soundcategory c JOIN sub ON c.parent_id = sub.id)
     SELECT id FROM sub);
  RETURN NULL;
END $$;
CREATE TRIGGER catalog_artist_search_touch AFTER UPDATE OF name ON catalog_artist
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION catalog_artist_search_touch();
CREATE TRIGGER catalog_soundcategory_search_touch AFTER UPDATE OF name, parent_id ON catalog_soundcategory
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id)
  EXECUTE FUNCTION catalog_soundcategory_search_touch();
""",
    *[
        f"""
CREATE TRIGGER {m2m}_search_ins AFTER INSERT ON {m2m}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_track_search_touch_new();
CREATE TRIGGER {m2m}_search_del AFTER DELETE ON {m2m}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION catalog_track_search_touch_old();
CREATE TRIGGER {table}_search_touch AFTER UPDATE OF name ON {table}
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION catalog_taxonomy_search_touch('{m2m}', '{fk}');
"""
        for m2m, fk, table, _col in TAXONOMIES
    ],
    # Index what is already there (a development database with tracks).
    "UPDATE catalog_track SET search_vector = NULL;",
]

BACKWARD = [
    *[
        f"""
DROP TRIGGER IF EXISTS {m2m}_search_ins ON {m2m};
DROP TRIGGER IF EXISTS {m2m}_search_del ON {m2m};
DROP TRIGGER IF EXISTS {table}_search_touch ON {table};
"""
        for m2m, _fk, table, _col in TAXONOMIES
    ],
    """
DROP TRIGGER IF EXISTS catalog_soundcategory_search_touch ON catalog_soundcategory;
DROP TRIGGER IF EXISTS catalog_artist_search_touch ON catalog_artist;
DROP TRIGGER IF EXISTS catalog_track_search_fill ON catalog_track;
DROP FUNCTION IF EXISTS catalog_soundcategory_search_touch();
DROP FUNCTION IF EXISTS catalog_taxonomy_search_touch();
DROP FUNCTION IF EXISTS catalog_artist_search_touch();
DROP FUNCTION IF EXISTS catalog_track_search_touch_old();
DROP FUNCTION IF EXISTS catalog_track_search_touch_new();
DROP FUNCTION IF EXISTS catalog_track_search_fill();
DROP INDEX IF EXISTS catalog_artist_lower_name;
ALTER TABLE catalog_track DROP COLUMN IF EXISTS search_vector, DROP COLUMN IF EXISTS genre_ids,
  DROP COLUMN IF EXISTS mood_ids, DROP COLUMN IF EXISTS instrument_ids, DROP COLUMN IF EXISTS theme_ids;
DROP TABLE IF EXISTS catalog_searchword;
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
    dependencies = [("catalog", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
