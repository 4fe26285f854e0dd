from rest_framework.routers import SimpleRouter

from apps.boards.api.views import BoardViewSet

router = SimpleRouter(trailing_slash=False)
router.register("boards", BoardViewSet, basename="board")
urlpatterns = router.urls
