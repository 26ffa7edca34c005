"""The operator console: one page and its static assets, served by the function app itself.

The page shell and the assets hold no data, so they are anonymous. Everything the page shows
comes from the JSON API (auth level FUNCTION): the page asks for a function key once, keeps
it in sessionStorage and sends it as ``x-functions-key``, never in a URL. The assets are
files in ``console_static/`` (shipped with the package); nothing loads from the internet, and
the Content-Security-Policy says so to the browser.

Caching: the page is revalidated on every load (``no-cache`` + ETag); it names each asset
with its content hash (``?v=``), and an asset asked for by its current hash is cached for a
year (``immutable``). A deploy changes the hashes, so no browser keeps a stale script."""

from __future__ import annotations

import functools
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from retrain.entrypoints.http_io import error

bp = func.Blueprint()
STATIC = Path(__file__).with_name("console_static")
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css|svg)$")
TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    data: bytes
    digest: str  # first 16 hex digits of its sha256

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


@functools.cache
def asset(name: str) -> Asset | None:
    """A file of console_static/, read once per process; None for anything else."""
    if not ASSET_NAME.match(name):
        return None
    path = STATIC / name
    if not path.is_file():
        return None
    data = path.read_bytes()
    return Asset(data, hashlib.sha256(data).hexdigest()[:16])


@functools.cache
def _shell() -> str:
    """index.html, a template (never served as an asset: only js, css and svg are)."""
    return (STATIC / "index.html").read_text(encoding="utf-8")


def _api_root(req: func.HttpRequest) -> str:
    """The route prefix the page was served under (``/api`` by default, host.json
    ``routePrefix``), so the page calls the API wherever the app is mounted."""
    path = urlsplit(req.url).path.rstrip("/")
    return path[: -len("/console")] if path.endswith("/console") else "/api"


def _not_modified(req: func.HttpRequest, etag: str) -> bool:
    return etag in {t.strip() for t in (req.headers.get("if-none-match") or "").split(",")}


@bp.function_name("console_page")
@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_page(req: func.HttpRequest) -> func.HttpResponse:
    """The page shell: no data, only where the API and the assets are."""
    root = _api_root(req)
    refs = {"api": root}
    for name in ("console.js", "console.css", "icon.svg"):
        found = asset(name)
        version = found.digest if found else "missing"
        refs[name] = f"{root}/console/assets/{name}?v={version}"
    page = _shell()
    for key, value in refs.items():
        page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
    body = page.encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": etag}
    if _not_modified(req, etag):
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(
        body, status_code=200, mimetype="text/html", charset="utf-8", headers=headers
    )


@bp.function_name("console_asset")
@bp.route(route="console/assets/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_asset(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name", "")
    found = asset(name)
    if found is None:
        return error(404, "not_found", f"no console asset {name[:80]!r}")
    cache = IMMUTABLE if req.params.get("v") == found.digest else "no-cache"
    headers = {**SECURITY_HEADERS, "Cache-Control": cache, "ETag": found.etag}
    if _not_modified(req, found.etag):
        return func.HttpResponse(status_code=304, headers=headers)
    kind = TYPES[name.rsplit(".", 1)[1]]  # text/* get "; charset=utf-8" (azure.functions)
    return func.HttpResponse(found.data, status_code=200, mimetype=kind, headers=headers)
