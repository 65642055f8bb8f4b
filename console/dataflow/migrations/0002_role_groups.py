"""Create the three role groups (a public contract) with the permissions each role needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen copy: a migration must not change when the code's role table changes later.
GROUP_PERMISSIONS = {
    "Admins": [
        "view_service",
        "edit_service",
        "edit_host_aliases",
        "view_changerequest",
        "review_history",
    ],
    "Team leads": ["view_service", "view_changerequest", "review_history"],
    "Support": ["view_service", "view_changerequest", "edit_host_aliases"],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="dataflow", codename__in=codenames)
        group.permissions.set(perms)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dataflow", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
