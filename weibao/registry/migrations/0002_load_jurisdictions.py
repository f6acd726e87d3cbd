import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "jurisdictions.json"


def load(apps, schema_editor):
    """Ship the divisions Weibao serves (GB/T 2260); later data files extend, never rename."""
    Jurisdiction = apps.get_model("registry", "Jurisdiction")
    for row in json.loads(DATA.read_text(encoding="utf-8")):
        Jurisdiction.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "name_en": row["name_en"],
                "level": row["level"],
                "parent_id": row["parent"],
            },
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
