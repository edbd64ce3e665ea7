"""Map every error to the one JSON envelope (see catalog.errors), in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog.errors import DatahamnError, ErrorDetail, error_body
from catalog.storage.base import StoreUnavailable

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad-request",
    401: "not-authenticated",
    403: "permission-denied",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    416: "range-not-satisfiable",
    422: "invalid-input",
    429: "too-many-requests",
}


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatahamnError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        # The location FastAPI reports is a character offset, not a field.
        return JSONResponse(
            error_body(
                "invalid-input",
                "the request body is not valid JSON",
                [ErrorDetail(field="body", message="not valid JSON")],
            ),
            status_code=422,
        )
    details = [
        ErrorDetail(field=_field(tuple(err.get("loc", ()))), message=str(err.get("msg", "")))
        for err in errors
    ]
    message = "invalid input: " + "; ".join(f"{d.field}: {d.message}" for d in details[:3])
    return JSONResponse(error_body("invalid-input", message, details), status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http-error")
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.error("object store unavailable: %s", exc)
    return JSONResponse(
        error_body("unavailable", "the object store is unavailable"), status_code=503
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal-error", "internal server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DatahamnError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected)
