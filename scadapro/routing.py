"""WebSocket routes."""

from django.urls import path

from apps.live.consumers import RealtimeConsumer

websocket_urlpatterns = [path("ws/realtime", RealtimeConsumer.as_asgi())]
