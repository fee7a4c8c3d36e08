"""The four agreement documents exist from the start; staff add their versions."""

from django.db import migrations

DOCUMENTS = [
    ("user-agreement", "User Agreement", "The main agreement between you and AllMyTracks: accounts, use of the site, "
     "licences, fees and liability.", 1),
    ("privacy-policy", "Privacy Policy", "What personal data we collect, why, how long we keep it and your rights.", 2),
    ("premium-membership", "Premium Membership Service Agreement", "The terms of paid memberships: billing, "
     "renewal, cancellation and what each plan includes.", 3),
    ("music-licence", "Music Licence Agreement", "What a licence for a track or sound effect lets you do, for one "
     "end user and one project.", 4),
]


def create(apps, schema_editor):
    Document = apps.get_model("legal", "Document")
    for kind, title, description, position in DOCUMENTS:
        Document.objects.get_or_create(
            kind=kind, defaults={"title": title, "description": description, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("legal", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
