"""The core-metadata rules Warehouse applies to the upload FORM (``forklift/metadata.py``).

The form's fields become ``packaging.metadata`` raw metadata (form names are the raw names,
except the singular ``platform``, ``supported_platform``, ``license_file``, ``import_name`` and
``import_namespace``), ``Metadata.from_raw`` validates them (versions, fields newer than the
declared Metadata-Version, Requires-Dist, Requires-Python, ...), then PyPI's own rules run:
supported versions, no local versions, Summary length, e-mail addresses, classifiers, URLs,
Project-URL labels, Provides/Obsoletes-Dist, direct references, Dynamic, License vs
License-Expression. Errors are ``packaging.metadata.InvalidMetadata`` with the field they blame.
"""

from __future__ import annotations

import email._parseaddr

import email_validator
import packaging.metadata as pm
from packaging.requirements import InvalidRequirement, Requirement
from rfc3986 import exceptions as uri_exceptions
from rfc3986 import uri_reference, validators
from trove_classifiers import all_classifiers, deprecated_classifiers

InvalidMetadata = pm.InvalidMetadata

SUPPORTED_METADATA_VERSIONS = {"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"}

# PEP 643 (and PEP 794) fields that may be Dynamic, as PyPI lists them.
DYNAMIC_FIELDS = {
    name.lower()
    for name in (
        "Platform Supported-Platform Summary Description Description-Content-Type Keywords "
        "Home-Page Download-Url Author Author-Email Maintainer Maintainer-Email License "
        "License-Expression License-File Classifier Requires-Dist Requires-Python "
        "Requires-External Project-Url Provides-Extra Provides-Dist Obsoletes-Dist Requires "
        "Provides Obsoletes Import-Name Import-Namespace"
    ).split()
}

SUMMARY_LIMIT = 512
PROJECT_URL_LABEL_LIMIT = 32

# Form field name -> packaging's raw name. The raw names are the form names, except these.
_FORM_NAME_OVERRIDES = {
    "platforms": "platform",
    "supported_platforms": "supported_platform",
    "license_files": "license_file",
    "import_names": "import_name",
    "import_namespaces": "import_namespace",
}
FORM_TO_RAW = {
    _FORM_NAME_OVERRIDES.get(raw, raw): raw for raw in pm._RAW_TO_EMAIL_MAPPING
}
RAW_TO_FORM = {raw: form for form, raw in FORM_TO_RAW.items()}


def email_name(raw_name: str) -> str:
    return pm._RAW_TO_EMAIL_MAPPING.get(raw_name, raw_name)


def is_valid_uri(uri: str) -> bool:
    """http/https with a scheme; an authority is not required (``warehouse/utils/http.py``)."""
    reference = uri_reference(uri).normalize()
    validator = (
        validators.Validator()
        .allow_schemes("http", "https")
        .require_presence_of("scheme")
        .check_validity_of("scheme", "host", "port", "path", "query")
    )
    try:
        validator.validate(reference)
    except uri_exceptions.ValidationError:
        return False
    return True


def _balanced_parentheses(value: str) -> bool:
    """Parentheses outside quoted names pair up (backslash escapes honoured)."""
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def parse_address(value: str) -> tuple[str, str]:
    """``email.utils.parseaddr(value)`` as PyPI's Python (3.13+, strict by default) answers:
    ('', '') for anything but exactly one well-formed address. Python 3.11's parseaddr would
    return the first of several addresses instead."""
    if not _balanced_parentheses(value):
        return ("", "")
    addresses = email._parseaddr.AddressList(value).addresslist
    addresses = [("", "") if "[" in address else (name, address) for name, address in addresses]
    if len(addresses) != 1:
        return ("", "")
    return addresses[0]


def raw_from_form(form) -> dict:
    """Raw metadata from the form's fields; raises ExceptionGroup of InvalidMetadata for
    fields whose values cannot be raw metadata (a single-use field sent twice, ...)."""
    raw: dict = {}
    unparsed: list[str] = []
    for name in form.keys():
        raw_name = FORM_TO_RAW.get(name)
        if raw_name is None:
            continue  # protocol fields and anything unrelated
        values = form.getall(name)
        if values == [""]:
            continue  # an empty value counts as not sent
        if raw_name in pm._STRING_FIELDS and len(values) == 1:
            raw[raw_name] = values[0]
        elif raw_name in pm._LIST_FIELDS:
            raw[raw_name] = values
        elif raw_name == "keywords" and len(values) == 1:
            raw[raw_name] = pm._parse_keywords(values[0])
        elif raw_name == "project_urls":
            try:
                raw[raw_name] = pm._parse_project_urls(values)
            except KeyError:
                unparsed.append(name)
        else:
            unparsed.append(name)
    if unparsed:
        raise ExceptionGroup(
            "unparsed",
            [InvalidMetadata(name, f"{name!r} has invalid data") for name in unparsed],
        )
    return raw


def parse_form(form) -> pm.Metadata:
    """Validated metadata from the form, as Warehouse's ``metadata.parse(None, form_data=...)``;
    raises ExceptionGroup of InvalidMetadata."""
    metadata = pm.Metadata.from_raw(raw_from_form(form))
    errors = pypi_rules(metadata)
    if errors:
        raise ExceptionGroup("invalid metadata", errors)
    return metadata


def pypi_rules(metadata: pm.Metadata) -> list[InvalidMetadata]:
    """PyPI's rules on top of packaging's, in Warehouse's order."""
    errors: list[InvalidMetadata] = []
    if metadata.metadata_version not in SUPPORTED_METADATA_VERSIONS:
        errors.append(
            InvalidMetadata(
                "metadata-version",
                f"{metadata.metadata_version!r} is not a valid metadata version",
            )
        )
    if metadata.version.local:
        errors.append(
            InvalidMetadata(
                "version",
                f"The use of local versions in '{metadata.version}' is not allowed.",
            )
        )
    if isinstance(metadata.summary, str) and len(metadata.summary) > SUMMARY_LIMIT:
        errors.append(
            InvalidMetadata(
                "summary",
                f"'summary' field must be {SUMMARY_LIMIT} characters or less.",
            )
        )
    for raw_name in ("author_email", "maintainer_email"):
        value = getattr(metadata, raw_name)
        if value is None:
            continue
        _, address = parse_address(value)
        if not address:
            continue
        try:
            email_validator.validate_email(address, check_deliverability=False)
        except email_validator.EmailNotValidError as error:
            errors.append(
                InvalidMetadata(
                    email_name(raw_name),
                    f"{address!r} is not a valid email address: {error}",
                )
            )
    classifiers = set(metadata.classifiers or [])
    errors.extend(
        InvalidMetadata("classifier", f"{c!r} is not a valid classifier.")
        for c in sorted(classifiers - set(all_classifiers))
    )
    for classifier in sorted(classifiers & deprecated_classifiers.keys()):
        replacements = deprecated_classifiers[classifier]
        message = f"The classifier {classifier!r} has been deprecated"
        message += f", use one of {replacements} instead." if replacements else "."
        errors.append(InvalidMetadata("classifier", message))
    for raw_name in ("home_page", "download_url"):
        url = getattr(metadata, raw_name)
        if url is not None and not is_valid_uri(url):
            errors.append(InvalidMetadata(email_name(raw_name), f"{url!r} is not a valid url."))
    for label, url in (metadata.project_urls or {}).items():
        if not label:
            errors.append(InvalidMetadata("project-url", "Must have a label"))
        elif len(label) > PROJECT_URL_LABEL_LIMIT:
            errors.append(
                InvalidMetadata(
                    "project-url",
                    f"{label!r} must be {PROJECT_URL_LABEL_LIMIT} characters or less.",
                )
            )
        elif not url:
            errors.append(InvalidMetadata("project-url", "Must have a URL"))
        elif not is_valid_uri(url):
            errors.append(InvalidMetadata("project-url", f"{url!r} is not a valid url"))
    for raw_name in ("provides_dist", "obsoletes_dist"):
        for text in getattr(metadata, raw_name) or []:
            try:
                requirement = Requirement(text)
            except InvalidRequirement as error:
                errors.append(
                    InvalidMetadata(email_name(raw_name), f"{text!r} is invalid: {error}")
                )
                continue
            if requirement.url is not None:
                errors.append(
                    InvalidMetadata(
                        email_name(raw_name), f"Can't have direct dependency: {text!r}"
                    )
                )
    for requirement in metadata.requires_dist or []:
        if requirement.url is not None:
            errors.append(
                InvalidMetadata(
                    "requires-dist", f"Can't have direct dependency: {requirement}"
                )
            )
    for key in metadata.dynamic or []:
        if key not in DYNAMIC_FIELDS:
            errors.append(
                InvalidMetadata("dynamic", f"Dynamic field {key!r} is not a valid dynamic field.")
            )
    if metadata.license and metadata.license_expression:
        errors.append(
            InvalidMetadata(
                "license",
                "License is deprecated when License-Expression is present. "
                "Only License-Expression should be present.",
            )
        )
    return errors
