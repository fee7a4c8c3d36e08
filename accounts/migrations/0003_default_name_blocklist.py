from django.db import migrations

DEFAULT_TERMS = [
    ("administrator", "Impersonating staff"),
    ("admin", "Impersonating staff"),
    ("official", "Claiming to speak for AllMyTracks"),
    ("staff", "Impersonating staff"),
    ("moderator", "Impersonating staff"),
    ("support", "Impersonating customer support"),
    ("allmytracks", "The operator's name"),
]


def add_terms(apps, schema_editor):
    entry = apps.get_model("accounts", "NameBlocklistEntry")
    for term, note in DEFAULT_TERMS:
        entry.objects.get_or_create(term=term, defaults={"note": note})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_profile_moderation_enterprise_cancellation")]

    operations = [migrations.RunPython(add_terms, migrations.RunPython.noop)]
