"""OpenAPI: every operation documents the problem responses it can return."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}

DESCRIPTIONS = {
    "400": "Invalid input (problem document; `errors` names each field).",
    "401": "Not authenticated, or the token is malformed or unknown.",
    "403": "Visible to you, but you may not do this.",
    "404": "Does not exist or is not visible to you.",
    "405": "Method not allowed.",
    "406": "No acceptable representation for the Accept header.",
    "409": "Not allowed in the object's current state.",
    "415": "Unsupported media type (send application/json).",
    "422": "Idempotency key reused with a different body.",
    "429": "Too many requests; see Retry-After.",
}


class AutoSchema(BaseAutoSchema):
    pass


def _problem_ref() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def add_problem_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            public = operation.get("security") in ([], [{}]) or {} in operation.get("security", [])
            codes = ["400", "404", "405", "406", "429"]
            if not public:
                codes += ["401", "403"]
            if method in {"post", "put", "patch"}:
                codes += ["415"]
            if method == "post" and path.endswith("/") and "{" in path:
                codes += ["409"]
            parameters = operation.get("parameters", [])
            if any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
                codes += ["422"]
            for parameter in parameters:
                # Empty optional query values mean "not given" (filters, paging, ordering).
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code, {"description": DESCRIPTIONS[code], "content": _problem_ref()}
                )
    return result
