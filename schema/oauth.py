"""The browser side of Google sign-in: redirect to Google, and come back signed in.

`state` and `nonce` travel in a signed, short-lived, httpOnly cookie; the callback checks `state`
against it (cross-site request forgery) and Google's ID token against `nonce` (replay).
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from documents.accounts import AccountError
from resolvers.accounts.google import complete_google_redirect, google_client
from schema.accounts import set_sign_in_cookies
from schema.request_context import context_for_request
from settings import Settings

logger = logging.getLogger(__name__)
STATE_COOKIE = "google_oauth"
STATE_MAX_AGE_SECONDS = 600


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.jwt_secret.get_secret_value(), salt="google-oauth")


def _callback_url(settings: Settings) -> str:
    return f"{settings.public_url}/auth/google/callback"


def _back_to_frontend(settings: Settings, error: str | None = None) -> RedirectResponse:
    query = f"?{urlencode({'error': error})}" if error else ""
    response = RedirectResponse(f"{settings.frontend_url}{query}", status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/auth/google")
    return response


async def google_login(request: Request) -> Response:
    """GET /auth/google/login: off to Google's consent screen."""
    settings: Settings = request.app.state.settings
    context = context_for_request(request)
    try:
        google = google_client(context)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        url = await google.authorization_url(
            redirect_uri=_callback_url(settings), state=state, nonce=nonce
        )
    except AccountError as error:
        return _back_to_frontend(settings, str(error.code))
    except Exception as error:
        logger.warning("Google sign-in could not start: %s", error)
        return _back_to_frontend(settings, "GOOGLE_UNAVAILABLE")
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        _serializer(settings).dumps({"state": state, "nonce": nonce}),
        max_age=STATE_MAX_AGE_SECONDS,
        path="/auth/google",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    return response


async def google_callback(request: Request) -> Response:
    """GET /auth/google/callback: check state, exchange the code, set the session cookie."""
    settings: Settings = request.app.state.settings
    if request.query_params.get("error"):
        # The user said no at Google (access_denied), or Google could not go on.
        return _back_to_frontend(settings, "GOOGLE_SIGN_IN_CANCELLED")
    try:
        saved = _serializer(settings).loads(
            request.cookies.get(STATE_COOKIE, ""), max_age=STATE_MAX_AGE_SECONDS
        )
    except BadSignature:
        return _back_to_frontend(settings, "GOOGLE_STATE_MISMATCH")
    state, code = request.query_params.get("state"), request.query_params.get("code")
    if not state or not secrets.compare_digest(state, str(saved.get("state", ""))) or not code:
        return _back_to_frontend(settings, "GOOGLE_STATE_MISMATCH")
    response = _back_to_frontend(settings)
    context = context_for_request(request, response)
    try:
        signed_in = await complete_google_redirect(
            context, code=code, redirect_uri=_callback_url(settings), nonce=str(saved["nonce"])
        )
    except AccountError as error:
        return _back_to_frontend(settings, str(error.code))
    set_sign_in_cookies(context, signed_in)
    return response
