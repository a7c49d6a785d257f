"""Absolute links (certificate QR codes, e-mail): never built from a Host header the operator did not trust."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_request_context, request, url_for
from werkzeug.sansio.utils import host_is_trusted

log = logging.getLogger(__name__)
_warned: set[str] = set()


def path_for(endpoint: str, **values: Any) -> str:
    """Return the path of ``endpoint`` with or without a request (jobs and the CLI have none)."""
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind(
        current_app.config.get("SERVER_NAME") or "localhost",
        script_name=current_app.config.get("APPLICATION_ROOT") or "/",
    )
    return adapter.build(endpoint, values)


def request_host_trusted() -> bool:
    """Whether this request's Host is one the operator listed in LMS_TRUSTED_HOSTS (unset: none is)."""
    hosts = current_app.config.get("TRUSTED_HOSTS")
    return bool(hosts) and has_request_context() and host_is_trusted(request.host, hosts)


def public_base() -> str:
    """Return the base of absolute links: LMS_PUBLIC_URL, else a trusted request's host, else SERVER_NAME/localhost."""
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if base:
        return base
    if request_host_trusted():
        return request.host_url.rstrip("/")
    server = current_app.config.get("SERVER_NAME") or "localhost:5000"
    scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
    if has_request_context() and server not in _warned:
        _warned.add(server)
        log.warning(
            "LMS_PUBLIC_URL is not set and the request's host is not in LMS_TRUSTED_HOSTS: absolute links "
            "(certificate QR codes) point to %s://%s",
            scheme,
            server,
        )
    return f"{scheme}://{server}"


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of ``endpoint`` on ``public_base()``."""
    return public_base() + path_for(endpoint, **values)
