"""The control API's OpenAPI 3.1 document, generated from its route table.

Each endpoint is declared once as a :class:`Route` (method, path, summary, the scope it needs,
its handler, its body and response models); :func:`openapi_document` turns the table into the
document served at ``/api/openapi.json``, the schemas taken from the pydantic models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from real_trade._version import __version__
from real_trade.api import models as m

__all__ = ["Handler", "Route", "openapi_document"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path, summary, the scope it needs, its body and response models."""

    method: str
    path: str
    summary: str
    scope: str
    handler: Handler
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    many: bool = False
    query: tuple[str, ...] = ()


def openapi_document(routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``, schemas from their pydantic models."""
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"application/json": {"schema": ref(m.ErrorBody)}}
    paths: dict[str, Any] = {}
    for route in routes:
        op: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__}
        if route.scope != "none":
            op["security"] = [{"bearer": []}]
            op["x-scope"] = route.scope
        params = [{"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}}]
        op["parameters"] = [p for p in params if "{kind}" in route.path] + [
            {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
            for q in route.query
        ]
        if route.method == "POST":
            op["parameters"].append(
                {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
            )
        if route.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(route.body)}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if route.response is not None:
            schema = ref(route.response)
            if route.many:
                schema = {"type": "array", "items": schema}
            ok["content"] = {"application/json": {"schema": schema}}
        status = "202" if route.method == "POST" else "200"
        op["responses"] = {status: ok, "default": {"description": "refused", "content": error}}
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "real_trade control API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
