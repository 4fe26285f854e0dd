from rest_framework.routers import SimpleRouter

from apps.plant.api.views import MachineViewSet, SensorViewSet

router = SimpleRouter(trailing_slash=False)
router.register("machines", MachineViewSet, basename="machine")
router.register("sensors", SensorViewSet, basename="sensor")

urlpatterns = router.urls
