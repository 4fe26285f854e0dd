from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self) -> None:
        from apps.accounts import schema  # noqa: F401  (registers the OpenAPI bearer scheme)
        from apps.accounts.signals import create_role_groups

        # After every migrate, once all apps' permissions exist.
        post_migrate.connect(create_role_groups, sender=self, dispatch_uid="scadapro-role-groups")
