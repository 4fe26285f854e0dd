from apps.accounts.services import ensure_role_groups


def create_role_groups(sender, **kwargs) -> None:
    ensure_role_groups()
