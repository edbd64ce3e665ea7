"""A small HTTP client for the catalog API, used by the client commands.

Only httpx here: these commands must work on a laptop with the base install. Every failure
(connection, timeout, the API's error envelope, a body that is not JSON) becomes a CliError
with one line that says what to do next.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from datahamn.cli._errors import CliError

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
TIMEOUT_SECONDS = 30.0

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="DATAHAMN_URL", help="Base URL of the datahamn service."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="DATAHAMN_TOKEN",
        show_default=False,
        help="API token (from `datahamn tokens create`); anonymous when unset.",
    ),
]


class HttpError(CliError):
    """The service answered with an error status (kept so callers can decide to retry)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def path(*segments: str) -> str:
    """Join URL path segments, quoting each so a name cannot change the path."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _error_message(response: httpx.Response) -> str:
    where = f"{response.request.method} {response.request.url.path}"
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        snippet = " ".join(response.text.split())[:200]
        return f"HTTP {response.status_code} from {where}" + (f": {snippet}" if snippet else "")
    message = str(error.get("message") or error.get("code") or "request failed")
    # Details that only repeat the message add nothing; others name the offending field.
    fields = [
        f"{d.get('field')}: {d.get('message')}"
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("message") and str(d["message"]) not in message
    ]
    if fields:
        message += "; " + "; ".join(fields[:3])
    if response.status_code == 401:
        message += "; check DATAHAMN_TOKEN or --token"
    code = error.get("code")
    return f"{message} (HTTP {response.status_code}{f' {code}' if code else ''})"


class ApiClient:
    """GET JSON from the API under ``base_url``; ``client`` lets tests put an in-process app
    (e.g. FastAPI's TestClient, which is an httpx.Client) behind the same code."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = TIMEOUT_SECONDS,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.strip().rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise CliError(f"DATAHAMN_URL must start with http:// or https://; got {base_url!r}")
        self._timeout = timeout
        self._headers = {"Accept": "application/json"}
        if token and token.strip():
            self._headers["Authorization"] = f"Bearer {token.strip()}"
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._owns_client:
            self._client.close()

    def get(self, url_path: str, params: dict[str, Any] | None = None) -> Any:
        # httpx sends a list value as a repeated parameter, as the API expects for filters.
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        return self._json(self.request("GET", url_path, params=clean), url_path)

    def post(self, url_path: str, body: dict[str, Any]) -> Any:
        return self._json(self.request("POST", url_path, json=body), url_path)

    def request(
        self,
        method: str,
        url_path: str,
        *,
        absolute: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; an error answer or a network failure becomes a CliError.

        ``absolute``: ``url_path`` is a path from the server root (e.g. a Location header),
        not below /api/v1."""
        url = self.base_url + ("" if absolute else API_PREFIX) + url_path
        try:
            response = self._client.request(
                method, url, headers={**self._headers, **(headers or {})}, **kwargs
            )
        except httpx.ConnectError as exc:
            raise CliError(
                f"cannot reach datahamn at {self.base_url} ({exc}); is `datahamn serve` "
                "running? Set DATAHAMN_URL or --url to point elsewhere"
            ) from exc
        except httpx.TimeoutException as exc:
            raise CliError(
                f"datahamn at {self.base_url} did not answer within {self._timeout:.0f} s"
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CliError(f"request to {self.base_url} failed: {exc}") from exc
        if response.is_error:
            raise HttpError(_error_message(response), response.status_code)
        return response

    def _json(self, response: httpx.Response, url_path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(
                f"{self.base_url} answered {url_path} with something that is not JSON; "
                "is DATAHAMN_URL the datahamn service?"
            ) from exc
