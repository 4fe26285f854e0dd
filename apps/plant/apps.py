from django.apps import AppConfig


class PlantConfig(AppConfig):
    name = "apps.plant"
    verbose_name = "Plant model"
