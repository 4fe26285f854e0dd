"""`manage.py ensure_admin`: create or update the `admin` superuser from SCADAPRO_ADMIN_PASSWORD."""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts import roles


class Command(BaseCommand):
    help = "Create the admin superuser, or reset its password, from SCADAPRO_ADMIN_PASSWORD."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        password = os.environ.get("SCADAPRO_ADMIN_PASSWORD", "")
        if len(password) < 12:
            raise CommandError(
                "SCADAPRO_ADMIN_PASSWORD must be set to at least 12 characters (make setup generates one)."
            )
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=roles.ADMIN)[0])
        self.stdout.write(f"admin user '{username}' {'created' if created else 'updated'}")
