"""Profile countries saved before the country was chosen from the ISO 3166 list: "UK" becomes
"GB"; anything that is no country's code is cleared (the profile asks again), rather than shown as
unchosen and wiped silently the next time the member saves their profile."""

from django.db import migrations

ALIASES = {"UK": "GB", "EL": "GR"}  # codes people write that ISO 3166 spells otherwise


def to_iso_codes(apps, schema_editor):
    from django_countries import countries

    User = apps.get_model("accounts", "User")
    known = set(countries.countries)
    for pk, country in User.objects.exclude(country="").values_list("pk", "country").iterator():
        code = country.strip().upper()
        code = ALIASES.get(code, code)
        if code != country or code not in known:
            User.objects.filter(pk=pk).update(country=code if code in known else "")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_staff_site_labels")]

    operations = [migrations.RunPython(to_iso_codes, migrations.RunPython.noop)]
