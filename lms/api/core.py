"""The frame of every API call: the key, its scope and rate, the caller's language, JSON errors, the log.

Each view is declared once with ``api_route``: its query and body models (pydantic) both validate the call
and describe it in the OpenAPI document (spectree derives the document from them). The call runs as units of
work of its own (``lms.core.db``): the key is checked and counted in a short write unit committed at once, so
that a refused or failed call still counts; the work runs in the request's unit and is committed once when it
succeeds; the call is logged in a last short write unit.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import g, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from lms.api import keys
from lms.core.db import WRITE, WriteNeeded, db, unit
from lms.core.errors import DomainError
from lms.core.i18n import Message, translate_message
from lms.core.permissions import public
from lms.org.models import Enterprise

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
API_VIEWS: list[Callable[..., Any]] = []
MAX_ID = 2**31 - 1

spec = SpecTree(
    "flask",
    mode="strict",
    title="Safety-training LMS API",
    version="1.0.0",
    description=(
        "Roster sync from HR, training records in and out, status and coverage, certificates, xAPI. "
        "Every call carries an API key (Authorization: Bearer lms_…). Errors are "
        '{"error": {"code", "message"}} with the message in the Accept-Language of the call (Chinese by '
        "default). Times are ISO 8601 with the enterprise's offset; a time sent without an offset is the "
        "enterprise's local time."
    ),
    security_schemes=[
        SecurityScheme(
            name="ApiKey",
            data=SecuritySchemeData(
                type="http",
                scheme="bearer",
                bearer_format="lms_…",
                description="An API key made on the API keys page",
            ),
        ),
    ],
    naming_strategy=lambda model: model.__name__,
)


# ---------------------------------------------------------------------------------------------- models


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters_at(value: Any, path: str = "") -> str | None:
    """Where the body or query holds text no database stores (NUL) or other control characters; None if nowhere."""
    if isinstance(value, str):
        return (path or "body") if _CONTROL.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            where = control_characters_at(k, path) or control_characters_at(
                v, f"{path}.{k}" if path else str(k)
            )
            if where:
                return where
    elif isinstance(value, list):
        for i, v in enumerate(value):
            where = control_characters_at(v, f"{path}.{i}" if path else str(i))
            if where:
                return where
    return None


class Model(BaseModel):
    """Every model of the API's input: unknown fields refused, text stripped (control characters are refused
    before the model sees them, ``control_characters_at``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    """What every failed call answers."""

    error: ErrorBody


# A refused input is answered 400 with an ErrorOut (validated here, not by spectree): say so in the document.
spec.validation_error_status = 400
spec.validation_error_model = ErrorOut


# ---------------------------------------------------------------------------------------------- errors


class ApiError(Exception):
    """A refusal with a code for programs and a message for people (translated when sent)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | Message,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("Not found, or not yours to see."))


CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def _http_message(status: int) -> str:
    return {
        400: _("The request could not be understood."),
        401: _("An API key is needed (Authorization: Bearer …)."),
        403: _("This key may not do this."),
        404: _("Not found, or not yours to see."),
        405: _("This method is not allowed here."),
        409: _("The request conflicts with the current state; nothing was saved."),
        413: _("The request is too large."),
        429: _("Too many calls with this key: wait and try again."),
    }.get(status, _("The server failed to complete the request. Nothing was saved."))


def error_response(exc: ApiError) -> Any:
    body: dict[str, Any] = {"code": exc.code, "message": str(translate_message(exc.message))}
    if exc.details:
        body["details"] = exc.details
    resp = jsonify({"error": body})
    resp.status_code = exc.status
    for k, v in exc.headers.items():
        resp.headers[k] = v
    return resp


def _from_exception(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()[:50]
        ]
        return ApiError(400, "invalid_request", _("The request is not valid: see details."), details=details)
    if isinstance(exc, DomainError):
        code = {404: "not_found", 403: "forbidden", 409: "conflict"}.get(exc.status_code, "invalid_request")
        details = [{"field": exc.field, "problem": str(exc.message)}] if exc.field else None
        return ApiError(exc.status_code, code, exc.message, details=details)
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        return ApiError(status, CODES.get(status, "error"), _http_message(status))
    if isinstance(exc, IntegrityError):
        return ApiError(409, "conflict", _http_message(409))
    if isinstance(exc, DataError):  # a value the database refused (out of range…): the caller's input
        return ApiError(400, "invalid_request", _http_message(400))
    log.exception("API call failed: %s %s", request.method, request.path)
    return ApiError(500, "server_error", _http_message(500))


# ---------------------------------------------------------------------------------------------- language


def api_locale() -> str:
    """The caller's language from Accept-Language (Chinese unless English is preferred)."""
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh_CN"


# ---------------------------------------------------------------------------------------------- the call


@dataclass
class Call:
    """The key of the call and the enterprises it reaches (what every view is given)."""

    key: keys.KeyInfo
    enterprise_ids: list[int]
    query: Any = None
    body: Any = None
    _enterprises: dict[int, Enterprise] = field(default_factory=dict)

    @property
    def is_regulator(self) -> bool:
        return self.key.regulator_id is not None

    def enterprise(self, code: str | None = None, *, names: bool = False) -> Enterprise:
        """The enterprise the call is about: the key's own, or for a regulator's key the one named ``code``.

        ``names``: the call reads people by name, which a regulator may only where the enterprise shares them.
        Anything out of reach is "not found", never "forbidden" (a key learns nothing of other enterprises).
        """
        if code is not None:
            ent = db.session.scalar(select(Enterprise).where(Enterprise.code == code))
            if ent is None or ent.id not in self.enterprise_ids:
                raise not_found()
        elif len(self.enterprise_ids) == 1:
            ent = db.session.get(Enterprise, self.enterprise_ids[0])
        elif not self.enterprise_ids:
            raise not_found()
        else:
            raise ApiError(
                400,
                "enterprise_required",
                _("This key reaches several enterprises: name one with ?enterprise=CODE."),
            )
        if ent is None:
            raise not_found()
        if names and self.is_regulator and not ent.share_names_with_regulator:
            raise not_found()
        return ent


def _token() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("X-API-Key", "").strip() or None


def _admit(scope: str) -> keys.KeyInfo:
    """Find the call's key and count the call against its limit (a committed write unit of its own)."""
    token = _token()
    if not token:
        raise ApiError(401, "unauthorized", _http_message(401), headers={"WWW-Authenticate": "Bearer"})
    key = keys.find_key(token)  # a read: an unknown key never takes the write lock
    db.session.commit()
    wait = 0
    if key is not None:
        with unit(WRITE):
            try:
                wait = keys.count_call(key)
                keys.touch(key)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
    if key is None:
        raise ApiError(
            401,
            "invalid_key",
            _("The API key is unknown or revoked."),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.environ["lms.api.key"] = key
    if wait:
        raise ApiError(429, "rate_limited", _http_message(429), headers={"Retry-After": str(wait)})
    return key


SECRET_PARAMS = ("code",)  # a certificate's verification code is not kept in the log


def _logged_path() -> str:
    if not request.query_string:
        return request.path
    from urllib.parse import urlencode

    args = [(k, "***" if k in SECRET_PARAMS else v) for k, v in request.args.items(multi=True)]
    return f"{request.path}?{urlencode(args)}"


def _log(key: keys.KeyInfo, status: int, started: float) -> None:
    with unit(WRITE):
        try:
            keys.log_call(
                key.id,
                method=request.method,
                path=_logged_path(),
                status=status,
                duration_ms=int((time.perf_counter() - started) * 1000),
                address=request.remote_addr,
            )
            db.session.commit()
        except Exception:  # the log must never turn an answer into a failure
            db.session.rollback()
            log.exception("could not log an API call")


def _parse(model: type[BaseModel] | None, data: Any) -> Any:
    if model is None:
        return None
    where = control_characters_at(data)
    if where:
        raise ApiError(
            400,
            "invalid_request",
            _("The request is not valid: see details."),
            details=[{"field": where, "problem": "control characters are not allowed"}],
        )
    return model.model_validate(data)


def _query_data(model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in request.args:
            continue
        values = request.args.getlist(name)
        ann = str(info.annotation)
        out[name] = values if ann.startswith(("list", "typing.List")) or "list[" in ann else values[-1]
    extra = set(request.args) - set(model.model_fields)
    if extra:
        out.update({k: request.args[k] for k in sorted(extra)})  # refused by extra="forbid", with its name
    return out


def _body() -> Any:
    if not request.data:
        raise ApiError(400, "invalid_json", _("The body must be a JSON object."))
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _("The body must be a JSON object."))
    return data


def api_route(
    rule: str,
    *,
    scope: str,
    methods: tuple[str, ...] = ("GET",),
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    out: type[BaseModel] | None = None,
    status: int = 200,
    tags: tuple[str, ...] = (),
    extra_statuses: tuple[int, ...] = (),
    responses: dict[int, type[BaseModel]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API view ``view(call, **path_args)`` that returns a JSON-able value (or a Response)."""
    from lms.api import bp

    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def run(**kwargs: Any) -> Any:
            started = time.perf_counter()
            key: keys.KeyInfo | None = request.environ.get("lms.api.key")
            g.pop("_lms_translations", None)
            with force_locale(api_locale()):
                try:
                    if key is None:  # not when the call runs again as a write unit: it was counted once
                        key = _admit(scope)
                    if scope and scope not in key.scopes:
                        raise ApiError(
                            403, "scope_missing", _("This key lacks the scope %(scope)s.", scope=scope)
                        )
                    call = Call(key, keys.reachable_enterprise_ids(key))
                    call.query = _parse(query, _query_data(query)) if query else None
                    call.body = _parse(body, _body()) if body else None
                    result = view(call, **kwargs)
                    response = result if hasattr(result, "status_code") else jsonify(result)
                    if not hasattr(result, "status_code"):
                        response.status_code = status
                    db.session.commit()
                except WriteNeeded:
                    raise
                except Exception as exc:
                    db.session.rollback()
                    response = error_response(_from_exception(exc))
                g.pop("_lms_translations", None)
            key = key or request.environ.get("lms.api.key")  # known even when the call was refused (429)
            if key is not None:
                _log(key, response.status_code, started)
            return response

        statuses = {f"HTTP_{status}": out} if out is not None else {f"HTTP_{status}": None}
        for code in (400, 401, 403, 404, 429, *extra_statuses):
            statuses[f"HTTP_{code}"] = ErrorOut
        for code, model in (responses or {}).items():
            statuses[f"HTTP_{code}"] = model
        documented = spec.validate(
            query=query,
            json=body,
            resp=Response(**statuses),
            tags=list(tags),
            skip_validation=True,
            security={"ApiKey": []},
            operation_id=view.__name__,
        )(run)
        endpoint = public(documented)
        API_VIEWS.append(endpoint)
        bp.add_url_rule(PREFIX + rule, view.__name__, endpoint, methods=list(methods))
        return view

    return deco


# ---------------------------------------------------------------------------------------------- pages


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id after which the next page starts (0 for the first page); 400 for a forged cursor."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        kind, _sep, number = text.partition(":")
        value = int(number)
        if kind != "id" or not 0 <= value <= MAX_ID:
            raise ValueError(text)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ApiError(400, "invalid_cursor", _("The cursor is not one this API gave.")) from exc
    return value


def page(items: list[Any], limit: int, last_id: Callable[[Any], int]) -> dict[str, Any]:
    """A page of ``items`` (fetched with limit + 1) and the cursor of the next, if any."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(last_id(items[-1])) if more and items else None}
