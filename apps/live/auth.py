"""WebSocket authentication: the session cookie (pages, via Channels' AuthMiddlewareStack) or
`Authorization: Bearer <token>` (API clients), the same tokens as the REST API."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from apps.accounts.services import InvalidToken, authenticate_token


@database_sync_to_async
def _token_user(token: str):
    try:
        return authenticate_token(token)
    except InvalidToken:
        return None


class BearerTokenMiddleware(BaseMiddleware):
    """Sets scope["user"] from a bearer token when the request carries one (after the session
    middleware, so a token wins over a cookie). A wrong token leaves no user: the consumer closes."""

    async def __call__(self, scope, receive, send):
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                parts = value.split()
                if len(parts) == 2 and parts[0].lower() == b"bearer":
                    user = await _token_user(parts[1].decode("ascii", "replace"))
                    scope = {**scope, "user": user, "token_rejected": user is None}
                break
        return await super().__call__(scope, receive, send)
