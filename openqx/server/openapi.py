"""The published API description: an OpenAPI schema that tells the whole truth, and ``/docs``
and ``/redoc`` pages that work offline.

FastAPI's generated schema is completed here:

- a ``bearerAuth`` security scheme (``Authorization: Bearer <token>``), required by every
  operation whose handler takes the caller (``deps.current_user``, through
  ``deps.BEARER_AUTH``), and by no other;
- every error answer of every operation as the error envelope (``ErrorBody``), with the
  statuses of ``server.errors.HTTP_STATUS`` (request validation errors are 400 envelopes, so
  FastAPI's 422 ``HTTPValidationError`` answers are replaced);
- typed bodies where handlers return raw JSON: ``GET /jobs/{id}/result`` (a qiskit
  ``Result.to_dict()`` or an encoded ``PrimitiveResult``) and the ``status`` events of
  ``GET /jobs/{id}/events`` (the data of a ``status`` event is a ``JobStatusInfo``, of the
  ``job`` event a ``JobFinal``, declared under the answer's ``x-events`` extension, as
  OpenAPI 3.1 has no field for stream items).

The Swagger UI and ReDoc assets come from the ``fastapi-offline`` package (MIT; it bundles
swagger-ui-dist, Apache-2.0, and redoc, MIT) and are served under ``/docs-assets``.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from openqx.core.wire import JOB_EVENT, ErrorBody, JobFinal
from openqx.server import deps
from openqx.server.errors import HTTP_STATUS

__all__ = ["ASSETS_URL", "install_api_docs"]

ASSETS_URL = "/docs-assets"
SECURITY_SCHEME = deps.BEARER_AUTH.scheme_name
_REF = "#/components/schemas/"

_STATUS_TEXT = {
    400: "Invalid input (the message names the field, PUB or line)",
    401: "Missing or invalid token",
    403: "Not allowed",
    404: "Not found (or not visible to the caller)",
    409: "Not possible in the job's current state",
    413: "Request body too large",
    429: "Job limit reached, or too many failed sign-ins",
    500: "Unexpected server error",
    503: "Temporarily unavailable",
}

_RESULT_SCHEMA: dict[str, Any] = {
    "title": "JobResult",
    "description": "A circuits or circuit-runner job's qiskit ``Result.to_dict()``, or a "
    "sampler/estimator job's encoded ``PrimitiveResult`` (``openqx.core.primitives``).",
    "oneOf": [
        {
            "title": "QiskitResult",
            "type": "object",
            "required": ["results", "success"],
            "properties": {
                "backend_name": {"type": "string"},
                "backend_version": {"type": "string"},
                "job_id": {"type": "string"},
                "qobj_id": {"type": ["string", "null"]},
                "success": {"type": "boolean"},
                "date": {"type": ["string", "null"]},
                "status": {"type": ["string", "null"]},
                "header": {"type": "object"},
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["shots", "success", "data"],
                        "properties": {
                            "shots": {"type": "integer"},
                            "success": {"type": "boolean"},
                            "status": {"type": ["string", "null"]},
                            "header": {"type": "object"},
                            "data": {
                                "type": "object",
                                "properties": {
                                    "counts": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    },
                                    "memory": {"type": "array"},
                                    "quasiprobabilities": {
                                        "type": "object",
                                        "additionalProperties": {"type": "number"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        {
            "title": "PrimitiveResultBody",
            "type": "object",
            "required": ["primitive_result", "success"],
            "properties": {
                "success": {"type": "boolean"},
                "metadata": {"type": "object"},
                "primitive_result": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "shape", "fields", "metadata"],
                        "properties": {
                            "type": {"enum": ["SamplerPubResult", "PubResult"]},
                            "shape": {"type": "array", "items": {"type": "integer"}},
                            "fields": {"type": "object"},
                            "metadata": {"type": "object"},
                        },
                    },
                },
            },
        },
    ],
}


def _needs_token(operation: dict[str, Any]) -> bool:
    """Whether the operation's handler takes the caller: ``deps.current_user`` depends on
    ``deps.BEARER_AUTH``, which FastAPI lists as the operation's security."""
    return any(SECURITY_SCHEME in requirement for requirement in operation.get("security", []))


def _error_responses(secured: bool) -> dict[str, Any]:
    statuses = sorted({*HTTP_STATUS.values(), 500})
    if not secured:
        statuses = [s for s in statuses if s not in (401, 403, 429)]
    return {
        str(status): {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": f"{_REF}ErrorBody"}}},
        }
        for status in statuses
    }


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_body = ErrorBody.model_json_schema(ref_template=_REF + "{model}")
    for name, definition in error_body.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas["ErrorBody"] = error_body
    schemas["JobResult"] = _RESULT_SCHEMA
    schemas["JobFinal"] = {
        "title": "JobFinal",
        "description": JobFinal.__doc__,
        "type": "object",
        "required": ["job"],
        "additionalProperties": False,
        "properties": {
            "job": {"$ref": f"{_REF}JobInfo"},
            "result": {"anyOf": [{"$ref": f"{_REF}JobResult"}, {"type": "null"}]},
        },
    }
    # ``securitySchemes`` as FastAPI wrote it from ``deps.BEARER_AUTH``.
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            needs = _needs_token(operation)
            operation["security"] = [{SECURITY_SCHEME: []}] if needs else []
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, answer in _error_responses(needs).items():
                responses.setdefault(status, answer)
    _type_raw_bodies(schema.get("paths", {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def _type_raw_bodies(paths: dict[str, Any]) -> None:
    result = paths.get("/v1/jobs/{job_id}/result", {}).get("get")
    if result is not None:
        result["responses"]["200"]["content"] = {
            "application/json": {"schema": {"$ref": f"{_REF}JobResult"}}
        }
    events = paths.get("/v1/jobs/{job_id}/events", {}).get("get")
    if events is not None:
        events["responses"]["200"] = {
            "description": "Server-sent events: ``event: status`` with a ``JobStatusInfo`` as "
            "``data``, at once and at every change, until the job is final; just before the "
            "final ``status``, one ``event: job`` with a ``JobFinal`` (the record and a DONE "
            "job's result when small); ``: keep-alive`` comments in between.",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string", "contentMediaType": "text/event-stream"}
                }
            },
            "x-events": {
                "status": {"$ref": f"{_REF}JobStatusInfo"},
                JOB_EVENT: {"$ref": f"{_REF}JobFinal"},
            },
        }


def install_api_docs(app: FastAPI) -> None:
    """Give ``app`` the completed schema and offline ``/docs`` and ``/redoc`` pages (create
    the app with ``docs_url=None, redoc_url=None``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                ),
            )
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010  (FastAPI's documented override)
    assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
