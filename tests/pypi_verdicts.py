"""What PyPI's own libraries say about metadata values, for tests/metadata_rules.rs.

Reads one JSON object per line on stdin, `{"kind": ..., "value": ...}`, and writes one JSON
verdict per line: `{"ok": bool, "message": str}`. Run with the test venv's Python, where
packaging, email-validator and rfc3986 are pinned as Warehouse pins them.
"""

import json
import sys

import email_validator
import rfc3986
from packaging.licenses import canonicalize_license_expression
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from rfc3986 import exceptions, validators


def valid_uri(uri: str) -> None:
    # Warehouse utils/http.py is_valid_uri(uri, require_authority=False).
    reference = rfc3986.uri_reference(uri).normalize()
    validator = validators.Validator().allow_schemes("http", "https")
    validator.require_presence_of("scheme")
    validator.check_validity_of("scheme", "host", "port", "path", "query")
    validator.validate(reference)


def judge(kind: str, value: str):
    if kind == "requirement":
        Requirement(value)
        return ""
    if kind == "specifiers":
        SpecifierSet(value)
        return ""
    if kind == "email":
        email_validator.validate_email(value, check_deliverability=False)
        return ""
    if kind == "license":
        return canonicalize_license_expression(value)
    if kind == "license_ids":
        from packaging.licenses._spdx import EXCEPTIONS, LICENSES

        return json.dumps({"licenses": sorted(v["id"] for v in LICENSES.values()),
                           "exceptions": sorted(v["id"] for v in EXCEPTIONS.values())})
    if kind == "url":
        valid_uri(value)
        return ""
    raise SystemExit(f"unknown kind {kind!r}")


for line in sys.stdin:
    request = json.loads(line)
    try:
        result = {"ok": True, "message": judge(request["kind"], request["value"])}
    except (ValueError, exceptions.ValidationError) as error:
        result = {"ok": False, "message": str(error).splitlines()[0] if str(error) else ""}
    print(json.dumps(result), flush=True)
