"""The console's page and assets as the Functions host serves them (no browser): types,
cache headers, no data in the shell, nothing served but the asset files."""

from __future__ import annotations

import hashlib
import re

import azure.functions as func
import pytest
from azure.functions.http import HttpResponseConverter

from retrain.entrypoints.console import CSP, STATIC
from tests import strict
from tests.functions.conftest import function


class Served:
    """What the host sends: the response encoded by azure.functions' own converter."""

    def __init__(self, response: func.HttpResponse) -> None:
        value = HttpResponseConverter.encode(response, expected_type=None).value
        self.status = int(value["status_code"].value)
        self.headers = {k.lower(): v.value for k, v in value["headers"].items()}
        self.body = value["body"].value or b""
        self.text = self.body.decode()
        self.json = (
            strict.loads(self.body)
            if self.headers.get("content-type", "").startswith("application/json")
            else None
        )


def request(name, path, params=None, route=None, headers=None) -> Served:
    req = func.HttpRequest(
        "GET",
        f"https://app.example.net/{path.lstrip('/')}",
        headers=headers or {},
        params=params or {},
        route_params=route or {},
        body=b"",
    )
    return Served(function(name)(req))


def page(path="api/console", headers=None):
    return request("console_page", path, headers=headers)


def asset(name, version=None, headers=None):
    params = {"v": version} if version else {}
    return request("console_asset", f"api/console/assets/{name}", params, {"name": name}, headers)


def test_the_page_names_each_asset_by_its_hash_and_holds_no_data():
    response = page()
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == CSP
    assert "default-src 'none'" in CSP and "connect-src 'self'" in CSP  # no CDN, no beacon
    assert response.headers["x-content-type-options"] == "nosniff"
    refs = dict(re.findall(r"/api/console/assets/([\w.]+)\?v=([0-9a-f]{16})", response.text))
    assert set(refs) == {"console.js", "console.css", "icon.svg"}
    for name, version in refs.items():
        assert version == hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:16]
    assert 'data-api="/api"' in response.text
    for secret_or_data in ("KLASSE_ROH", "x-functions-key:", "{{"):
        assert secret_or_data not in response.text
    again = page(headers={"if-none-match": response.headers["etag"]})
    assert again.status == 304 and again.text == ""


def test_the_page_follows_the_route_prefix_it_is_served_under():
    response = page(path="/custom/console")
    assert 'data-api="/custom"' in response.text
    assert "/custom/console/assets/console.js?v=" in response.text


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_type_and_are_cached_only_by_their_current_hash(name, content_type):
    data = (STATIC / name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    current = asset(name, digest)
    assert current.status == 200 and current.body == data
    assert current.headers["content-type"] == content_type
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert current.headers["etag"] == f'"{digest}"'
    stale = asset(name, "0" * 16)
    assert stale.status == 200 and stale.headers["cache-control"] == "no-cache"
    assert asset(name, headers={"if-none-match": f'"{digest}"'}).status == 304


@pytest.mark.parametrize("name", ["index.html", "../console.py", "..", "console.py", "x.js"])
def test_nothing_but_the_asset_files_is_served(name):
    response = asset(name)
    assert response.status == 404 and response.json["error"]["code"] == "not_found"


def test_the_script_puts_api_data_on_the_page_as_text_only():
    """Every value from the API is set with textContent or a text node: never innerHTML,
    never a string turned into code, never a key in a URL."""
    script = (STATIC / "console.js").read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
        assert forbidden not in script
    assert "document.write" not in script
    assert "sessionStorage" in script and "localStorage" not in script
    assert "?code=" not in script and "&code=" not in script
