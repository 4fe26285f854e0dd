from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from apps.accounts.services import InvalidToken, authenticate_token


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`: the deployment token or a personal API token."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Malformed Authorization header; send 'Authorization: Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
            return authenticate_token(token), token
        except UnicodeDecodeError:
            raise AuthenticationFailed("The token contains characters a token never has.") from None
        except InvalidToken as exc:
            raise AuthenticationFailed(str(exc)) from None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="scadapro"'
