"""Keep live alarm state consistent with rule edits made anywhere (admin, API, plant YAML)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.alarms import services
from apps.alarms.models import AlarmRule


@receiver(post_save, sender=AlarmRule, dispatch_uid="alarms.rule_disabled")
def clear_disabled_rule(sender, instance: AlarmRule, created: bool, **kwargs) -> None:
    if not created and not instance.enabled:
        services.rule_disabled(instance)
