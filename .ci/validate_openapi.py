"""Validates crates/server/openapi.json against the OpenAPI specification."""
import json
import sys
from pathlib import Path

from openapi_spec_validator import validate

path = Path(__file__).resolve().parent.parent / "crates/server/openapi.json"
try:
    validate(json.loads(path.read_text()))
except Exception as e:  # noqa: BLE001 - report any failure with its message
    print(f"openapi: INVALID: {e}")
    sys.exit(1)
print("openapi: valid")
