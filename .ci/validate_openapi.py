"""Validates crates/server/openapi.json against the OpenAPI specification.

Prints `openapi: valid`, or the first error and where it is, and exits 1.
Needs the PyPI package openapi-spec-validator.
"""
import json
import sys
from pathlib import Path

from openapi_spec_validator import validate

path = Path(__file__).resolve().parent.parent / "crates/server/openapi.json"
try:
    validate(json.loads(path.read_text(encoding="utf-8")))
except Exception as e:  # noqa: BLE001 - report any failure with its message
    # A schema error's str() repeats the whole meta-schema; its message and path say enough.
    message = getattr(e, "message", None) or str(e)
    where = "/".join(str(p) for p in getattr(e, "absolute_path", None) or [])
    print(f"openapi: INVALID: {message}" + (f" (at /{where})" if where else ""))
    sys.exit(1)
print("openapi: valid")
