"""The API reference page, rendered on the server from the OpenAPI document (no script, works offline)."""

from __future__ import annotations

import json
from typing import Any


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def schema_text(schema: dict[str, Any] | None, components: dict[str, Any], depth: int = 0) -> str:
    """A short type description of a schema (names of referenced models, arrays, unions)."""
    if not schema:
        return ""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "anyOf" in schema:
        return " | ".join(schema_text(s, components, depth + 1) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {schema_text(schema.get('items'), components, depth + 1)}"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document with its parameters, body and answers, in path order."""
    components = document.get("components", {}).get("schemas", {})
    out = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = [
                {
                    "name": p["name"],
                    "in": p["in"],
                    "required": p.get("required", False),
                    "type": schema_text(p.get("schema"), components),
                    "description": p.get("description") or (p.get("schema") or {}).get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            body = None
            content = (op.get("requestBody") or {}).get("content", {})
            if content:
                body = schema_text(next(iter(content.values())).get("schema"), components)
            answers = []
            for code, resp in sorted(op.get("responses", {}).items()):
                c = resp.get("content", {})
                answers.append(
                    {
                        "code": code,
                        "type": schema_text(next(iter(c.values())).get("schema"), components) if c else "",
                    }
                )
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tags": op.get("tags", []),
                    "params": params,
                    "body": body,
                    "answers": answers,
                }
            )
    return out


def models(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each schema of the document with its fields."""
    components = document.get("components", {}).get("schemas", {})
    out = []
    for name, schema in sorted(components.items()):
        required = set(schema.get("required", []))
        fields = [
            {
                "name": f,
                "type": schema_text(s, components),
                "required": f in required,
                "description": s.get("description", ""),
            }
            for f, s in schema.get("properties", {}).items()
        ]
        out.append({"name": name, "description": schema.get("description", ""), "fields": fields})
    return out
