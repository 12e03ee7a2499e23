"""OpenAPI document and Swagger UI, correct both at the root and behind a prefix-stripping proxy.

aiohttp-apigami builds the document from the handlers' marshmallow schemas. We serve it and the
page ourselves because apigami writes absolute URLs into both, which break when an ingress serves
the app under `/stock-ticker/`: the page here uses relative URLs, and the document's `servers`
entry comes from the `X-Forwarded-Prefix` the proxy announces, so "Try it out" calls the prefix.
"""

from __future__ import annotations

import copy
import re
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_apigami import setup_aiohttp_apispec
from aiohttp_apigami.constants import SWAGGER_DICT
from aiohttp_apigami.swagger_ui import SWAGGER_UI_STATIC_FILES

from stock_ticker import __version__
from stock_ticker.domain import NDAYS_FORM
from stock_ticker.web.problems import PROBLEM_JSON

_STATIC = resources.files("stock_ticker.web") / "static"
_PREFIX = re.compile(r"(/[A-Za-z0-9._~\-]+)*")
DOCS_PATHS = ("/docs", "/static/")
_DESCRIPTION = (
    "Daily prices for a stock over the last `ndays` trading days, with their average closing "
    "price. Errors are RFC 9457 problem details (`application/problem+json`)."
)
_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The caller's X-Request-ID echoed, or one generated for this request.",
        "schema": {"type": "string"},
    },
}
_NDAYS_HEADERS: dict[str, dict[str, Any]] = {
    "X-Cache": {
        "description": "HIT (fresh cache), MISS (fetched now) or STALE (upstream failed or slow; "
        "last good data served).",
        "schema": {"type": "string", "enum": ["HIT", "MISS", "STALE"]},
    },
    "Cache-Control": {
        "description": "max-age=N, the whole seconds the data stays fresh (by the market "
        "calendar: up to days over a weekend; 0 when STALE), then stale-while-revalidate and "
        "stale-if-error (RFC 5861) with the service's own windows.",
        "schema": {
            "type": "string",
            "example": "max-age=3599, stale-while-revalidate=20, stale-if-error=86400",
        },
    },
    "ETag": {
        "description": "Strong validator of this body; send it back in If-None-Match.",
        "schema": {"type": "string"},
    },
    "Last-Modified": {
        "description": "When the data was fetched from the upstream (If-Modified-Since).",
        "schema": {"type": "string"},
    },
    "Age": {
        "description": "When STALE: seconds since the data was fetched.",
        "schema": {"type": "integer"},
    },
    "Warning": {
        "description": 'When STALE: 110 stock-ticker "Response is Stale: " and the reason.',
        "schema": {"type": "string"},
    },
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again (on every 503 of /ndays; on a 502 or "
        "504 while the symbol rests after that failure).",
        "schema": {"type": "integer"},
    }
}
#: One example per problem status of /ndays and /readyz: (type slug, title, detail).
_PROBLEM_EXAMPLES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("/ndays", "400"): (
        "invalid-parameter",
        "Invalid query parameter",
        f"ndays: must be {NDAYS_FORM}",
    ),
    ("/ndays", "403"): (
        "symbol-not-allowed",
        "Symbol not allowed",
        "XYZ is not in this service's ALLOWED_SYMBOLS (the operator can add it, or '*')",
    ),
    ("/ndays", "404"): ("unknown-symbol", "Unknown symbol", "the upstream does not know XYZ"),
    ("/ndays", "502"): (
        "upstream-bad-answer",
        "Bad upstream answer",
        "upstream answer is not JSON",
    ),
    ("/ndays", "503"): (
        "upstream-unavailable",
        "Upstream unavailable",
        "upstream answered HTTP 503",
    ),
    ("/ndays", "504"): (
        "upstream-timeout",
        "Upstream timeout",
        "upstream did not answer within 10 s",
    ),
    ("/readyz", "503"): ("draining", "Shutting down", "this instance is draining"),
}


class OpenApiDocuments:
    """The generated document, rendered once per announced prefix (there are only a few)."""

    MAX_PREFIXES = 16

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec
        _describe_responses(self._spec)
        self._rendered: dict[str, bytes] = {}

    def for_prefix(self, prefix: str) -> bytes:
        if prefix not in self._rendered:
            if len(self._rendered) >= self.MAX_PREFIXES:
                self._rendered.clear()
            self._rendered[prefix] = orjson.dumps(
                {**self._spec, "servers": [{"url": prefix or "/"}]}
            )
        return self._rendered[prefix]


OPENAPI = web.AppKey("openapi", OpenApiDocuments)


def setup_docs(app: web.Application) -> None:
    """Generate the spec from the routes added so far; add `/openapi.json`, `/docs` and assets."""
    with warnings.catch_warnings():
        # apigami stores the spec under a plain string key, which aiohttp warns about.
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        setup_aiohttp_apispec(
            app,
            title="stock-ticker",
            version=__version__,
            url="",  # we serve the document ourselves, below
            openapi_version="3.0.3",
            in_place=True,
            info={"description": _DESCRIPTION},
        )
        app[OPENAPI] = OpenApiDocuments(copy.deepcopy(app[SWAGGER_DICT]))
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/", to_docs)
    app.router.add_get("/static/swagger/{name}", static_files(Path(SWAGGER_UI_STATIC_FILES)))
    app.router.add_get("/static/docs/{name}", static_files(Path(str(_STATIC))))


def static_files(root: Path) -> Handler:
    """Serve the files directly in `root`. aiohttp's own static route answers a missing file
    from inside the response, after the middleware has counted and logged it as a 200; here a
    miss is a plain 404 problem, counted and logged as one."""
    files = {path.name: path for path in root.iterdir() if path.is_file()}

    async def static_file(request: web.Request) -> web.StreamResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    return static_file


async def openapi_json(request: web.Request) -> web.Response:
    body = request.app[OPENAPI].for_prefix(forwarded_prefix(request))
    return web.Response(body=body, content_type="application/json")


async def to_docs(request: web.Request) -> web.Response:
    """`/` sends people to the docs. Behind a proxy that announces its prefix the Location is
    that prefix's docs page (a relative `docs` would turn `/stock-ticker`, no slash, into
    `/docs`); without one it is relative, so it resolves under any other path mapping too."""
    prefix = forwarded_prefix(request)
    return web.Response(status=302, headers={"Location": f"{prefix}/docs" if prefix else "docs"})


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(body=_page(), content_type="text/html")


def forwarded_prefix(request: web.Request) -> str:
    """The path prefix a proxy announced, if it is a plain path; otherwise none."""
    prefix = request.headers.get("X-Forwarded-Prefix", "").rstrip("/")
    return prefix if _PREFIX.fullmatch(prefix) else ""


@lru_cache(maxsize=1)
def _page() -> bytes:
    return (_STATIC / "docs.html").read_bytes()


def _describe_responses(spec: dict[str, Any]) -> None:
    """Add what the schemas cannot say: the problem media type with an example per status, and
    the headers we send."""
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            operation.pop("produces", None)  # a Swagger 2 field apigami adds; not OpenAPI 3
            for status, response in operation.get("responses", {}).items():
                headers = dict(_HEADERS)
                if int(status) >= 400:  # every error is declared with ProblemSchema
                    schema = response["content"]["application/json"]["schema"]
                    response["content"] = {
                        PROBLEM_JSON: {"schema": schema, "example": _problem_example(path, status)}
                    }
                if path == "/ndays" and status in ("502", "503", "504"):
                    headers.update(_RETRY_AFTER)
                if path == "/ndays" and status in ("200", "304"):
                    headers.update(_NDAYS_HEADERS)
                response["headers"] = headers


def _problem_example(path: str, status: str) -> dict[str, Any]:
    slug, title, detail = _PROBLEM_EXAMPLES[path, status]
    return {
        "type": f"urn:stock-ticker:problem:{slug}",
        "title": title,
        "status": int(status),
        "detail": detail,
        "instance": path,
        "request_id": "f4f48b5b26e146a7b1056dae21e4198b",
    }
