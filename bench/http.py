"""A tiny browser for the benchmarks and the stack test: cookies, CSRF token from the page, sign-in (urllib only)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Response:
    status: int
    url: str
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """One signed-in (or not) user agent against ``base`` (e.g. http://127.0.0.1:8001)."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self.opener = urllib.request.build_opener(cookies)
        self.plain = urllib.request.build_opener(cookies, _NoRedirect)
        self.csrf: str | None = None

    def request(
        self,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        follow: bool = True,
        timeout: float = 60,
    ) -> Response:
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        try:
            with (self.opener if follow else self.plain).open(req, timeout=timeout) as resp:
                out = Response(resp.status, resp.geturl(), resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            out = Response(err.code, url, err.headers, err.read())
        m = CSRF_RE.search(out.text) if out.headers.get_content_type() == "text/html" else None
        if m:
            self.csrf = m.group(1) or m.group(2)
        return out

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request(path, **kwargs)

    def post(self, path: str, fields: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        body = dict(fields or {})
        body.setdefault("csrf_token", self.csrf or "")
        return self.request(
            path,
            data=urllib.parse.urlencode(body, doseq=True).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", **kwargs.pop("headers", {})},
            **kwargs,
        )

    def post_json(self, path: str, payload: Any) -> Response:
        return self.request(
            path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.csrf or "",
                "Accept": "application/json",
            },
        )

    def post_file(
        self,
        path: str,
        field: str,
        filename: str,
        content: bytes,
        fields: dict[str, str] | None = None,
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
    ) -> Response:
        boundary = uuid.uuid4().hex
        parts = []
        for k, v in {"csrf_token": self.csrf or "", **(fields or {})}.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            path,
            data=b"".join(parts),
            method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})},
        )

    def login(self, username: str, password: str) -> Response:
        self.get("/login")
        resp = self.post("/login", {"login": username, "password": password})
        if "/login" in urllib.parse.urlsplit(resp.url).path:
            raise RuntimeError(f"sign-in as {username} failed (status {resp.status})")
        self.get(urllib.parse.urlsplit(resp.url).path)  # a page with the fresh CSRF token
        return resp

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)
