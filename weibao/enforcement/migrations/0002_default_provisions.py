from django.db import migrations


def load(apps, schema_editor):
    """Ship the default legal provisions (data/legal_provisions.json), unverified."""
    from weibao.enforcement.provisions import load_default_provisions

    load_default_provisions(apps.get_model("enforcement", "LegalProvision"))


class Migration(migrations.Migration):
    dependencies = [("enforcement", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
