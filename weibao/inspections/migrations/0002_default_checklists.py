from django.db import migrations


def load(apps, schema_editor):
    """Ship the default checklists (data/checklists.json); existing codes are left alone."""
    from weibao.inspections.checklists import load_default_checklists

    load_default_checklists(
        apps.get_model("inspections", "Checklist"), apps.get_model("inspections", "ChecklistItem")
    )


class Migration(migrations.Migration):
    dependencies = [("inspections", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
