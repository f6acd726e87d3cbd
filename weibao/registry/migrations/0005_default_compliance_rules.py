import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "compliance_rules.json"


def load(apps, schema_editor):
    """Ship the default rule set; an administrator's later edits are never overwritten."""
    ComplianceRule = apps.get_model("registry", "ComplianceRule")
    for row in json.loads(DATA.read_text(encoding="utf-8")):
        ComplianceRule.objects.get_or_create(code=row["code"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_compliance")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
