"""WebSocket routes. `/ws/realtime` arrives with the live operator UI (apps.live)."""

websocket_urlpatterns: list = []
