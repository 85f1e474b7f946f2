"""PyPI's upload rules in Warehouse's order (``forklift/legacy.py`` ``file_upload`` at commit
6b62157): :func:`validate_upload` judges one upload form against an :class:`Index` and answers
PyPI's status and message, plus a short rule id naming the rule (for tests and the corpus).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import re
import tempfile
import threading
from email.message import EmailMessage

import packaging.utils

from . import distfile
from . import metadata as metadata_rules
from .formdata import FileField, FormData, sanitize
from .model import (
    DEFAULT_FILE_SIZE_LIMIT,
    ONE_GIB,
    ONE_MIB,
    Index,
    Release,
    StoredFile,
    Verdict,
    canonical_version,
    refuse,
    release_info,
    utcnow,
)

__all__ = ["DEFAULT_FILE_SIZE_LIMIT", "Index", "Verdict", "canonical_version", "commit",
           "validate_upload"]

MAXIMUM_AGE_FOR_NEW_UPLOADS = datetime.timedelta(days=14)

HELP = "https://pypi.org/help/"
CORE_METADATA_URL = "https://packaging.python.org/specifications/core-metadata"
LOCAL_VERSION_URL = (
    "https://packaging.python.org/en/latest/specifications/"
    "version-specifiers/#local-version-identifiers"
)
STORAGE_LIMITS = "https://docs.pypi.org/project-management/storage-limits"
PROJECT_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.I | re.A)
DIGEST_RE = re.compile(r"^[A-F0-9]{64}$", re.I)
FILETYPE_EXTENSIONS = {"sdist": {".zip", ".tar.gz"}, "bdist_wheel": {".whl"}}
DIST_FILE_RE = re.compile(r".+?(?P<extension>\.(tar\.gz|zip|whl))$", re.I)
ERROR_FIELD_ORDER = ["metadata-version", "name", "version"]


# --- authentication (ensure_uploads_allowed + the basic-auth policy) ----------------------------
def check_auth(username: str | None, password: str | None, index: Index) -> Verdict | None:
    if username is not None and username != "__token__":
        return refuse(
            "Username/Password authentication is no longer supported. Migrate to API Tokens "
            f"or Trusted Publishers instead. See {HELP}#apitoken and {HELP}#trusted-publishers",
            "auth-password",
            403,
        )
    if username is None or password not in index.tokens:
        return refuse(
            "Invalid or non-existent authentication information. "
            f"See {HELP}#invalid-auth for more information.",
            "auth",
            403,
        )
    return None


# --- the UploadForm (forklift/forms.py, wtforms semantics: the FIRST value of a field) ---------
def _first(form: FormData, name: str):
    values = form.getall(name)
    return values[0] if values else None


def upload_form_error(form: FormData) -> str | None:
    errors: dict[str, str] = {}
    name = _first(form, "name")
    if not name:
        errors["name"] = "This field is required."
    elif not PROJECT_NAME_RE.match(name):
        errors["name"] = (
            "Start and end with a letter or numeral containing only ASCII numeric and "
            "'.', '_' and '-'."
        )
    filetype = _first(form, "filetype")
    if not filetype:
        errors["filetype"] = "This field is required."
    elif filetype not in FILETYPE_EXTENSIONS:
        errors["filetype"] = "Use a known file type."
    for field, label in (("sha256_digest", "SHA256"), ("blake2_256_digest", "BLAKE2")):
        value = _first(form, field)
        if isinstance(value, str) and value.strip() and not DIGEST_RE.match(value):
            errors[field] = f"Use a valid, hex-encoded, {label} message digest."
    if errors:
        field = next((f for f in ERROR_FIELD_ORDER if f in errors), None) or sorted(errors)[0]
        if field == "name":
            value = name or ""
            if len(value) > 60:
                value = value[:30] + "..." + value[-30:]
            return (
                f"{value!r} is an invalid value for Name. Error: {errors[field]} "
                f"See {CORE_METADATA_URL} for more information."
            )
        return f"Invalid value for {field}. Error: {errors[field]}"
    pyversion = _first(form, "pyversion")
    if filetype != "sdist" and not pyversion:
        return (
            "Invalid value for pyversion. Error: Python version is required for binary "
            "distribution uploads."
        )
    if filetype == "sdist" and pyversion and pyversion != "source":
        return "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist."
    if not any(_first(form, f) for f in ("md5_digest", "sha256_digest", "blake2_256_digest")):
        return "Error: Include at least one message digest."
    return None


# --- metadata ------------------------------------------------------------------------------------
def metadata_refusal(group: BaseExceptionGroup) -> Verdict:
    errors: dict[str, list] = {}
    for error in _leaves(group):
        errors.setdefault(error.field, []).append(error)
    field = next((f for f in ERROR_FIELD_ORDER if f in errors), None) or sorted(errors)[0]
    text = str(errors[field][0])
    see = (
        LOCAL_VERSION_URL
        if field == "version" and any("use of local versions" in str(e) for e in errors[field])
        else CORE_METADATA_URL
    )
    message = f"{text}{'' if text.endswith('.') else '.'} See {see} for more information."
    return refuse(message, f"metadata:{field}")


def _leaves(group):
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            yield from _leaves(error)
        else:
            yield error


_RENDER_LOCK = threading.Lock()


def render_description(text: str, content_type: str | None) -> str | None:
    """``warehouse/utils/readme.py`` ``render(..., use_fallback=False)``."""
    import readme_renderer.markdown
    import readme_renderer.rst
    import readme_renderer.txt

    renderers = {
        None: readme_renderer.rst,
        "": readme_renderer.rst,
        "text/plain": readme_renderer.txt,
        "text/x-rst": readme_renderer.rst,
        "text/markdown": readme_renderer.markdown,
    }
    if content_type:
        message = EmailMessage()
        message["content-type"] = content_type
        content_type = message.get_content_type()
    renderer = renderers.get(content_type, readme_renderer.txt)
    with _RENDER_LOCK:
        rendered = renderer.render(text)
    if content_type == "text/plain" and rendered is not None:
        rendered = f"<pre>{rendered}</pre>"
    return rendered


def description_refusal(meta) -> Verdict | None:
    if not meta.description:
        return None
    content_type = meta.description_content_type or "text/x-rst"
    if render_description(meta.description, content_type) is not None:
        return None
    if meta.description_content_type:
        text = f"The description failed to render for '{content_type}'."
    else:
        text = "The description failed to render in the default format of reStructuredText."
    return refuse(
        f"{text} See {HELP}#description-content-type for more information.", "description"
    )


# --- file names ----------------------------------------------------------------------------------
def filename_refusal(filename: str, filetype: str) -> Verdict | None:
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        return refuse(
            "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL "
            "character (ordinal 127) in the name.",
            "filename-characters",
        )
    if "/" in filename or "\\" in filename:
        return refuse("Cannot upload a file with '/' or '\\' in the name.", "filename-slash")
    match = DIST_FILE_RE.match(filename)
    if match is None:
        return refuse(
            "Invalid file extension: Use .tar.gz, .whl or .zip extension. See "
            "https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ "
            "for more information",
            "filename-extension",
        )
    extension = match.group("extension")
    if extension not in FILETYPE_EXTENSIONS[filetype]:
        return refuse(
            f"Invalid file extension: Extension {extension} is invalid for filetype "
            f"{filetype}. See https://www.python.org/dev/peps/pep-0527 for more information.",
            "filename-extension",
        )
    return None


# --- the upload ----------------------------------------------------------------------------------
def validate_upload(
    form: FormData,
    index: Index,
    *,
    username: str | None,
    password: str | None,
    now: datetime.datetime | None = None,
) -> Verdict:
    """Judge one upload as PyPI does; the first failing rule answers. An accepted upload's
    :class:`StoredFile` is in ``Verdict.stored``; call :func:`commit` once it is stored."""
    try:
        return _validate(form, index, username, password, now or utcnow())
    except Exception as error:  # PyPI answers an unexpected exception with a 500
        return refuse(
            f"Internal Server Error ({type(error).__name__}: {error})", "internal-error", 500
        )


def _validate(form, index, username, password, now) -> Verdict:
    if refusal := check_auth(username, password, index):
        return refusal
    if message := sanitize(form):
        return refuse(message, "field-is-tuple")
    if form.get("protocol_version", "1") != "1":
        return refuse("Unknown protocol version.", "protocol-version")
    if message := upload_form_error(form):
        return refuse(message, "form")
    try:
        meta = metadata_rules.parse_form(form)
    except ExceptionGroup as group:
        invalid, other = group.split(metadata_rules.InvalidMetadata)
        if other is not None or invalid is None:
            raise
        return metadata_refusal(invalid)
    if "content" not in form:
        return refuse("Upload payload does not have a file.", "no-file")
    content = form["content"]
    if not isinstance(content, FileField):
        raise TypeError("the content field is not a file")
    name = _first(form, "name")
    filetype = _first(form, "filetype")
    pyversion = _first(form, "pyversion") or ("source" if filetype == "sdist" else None)
    normalized = packaging.utils.canonicalize_name(name)
    # The project's display name follows the metadata's Name.
    display_name = meta.name
    if refusal := description_refusal(meta):
        return refusal
    version_key = packaging.utils.canonicalize_version(meta.version)
    release = index.releases.get((normalized, version_key))
    filename = content.filename
    if refusal := filename_refusal(filename, filetype):
        return refusal
    if not content.content_type or content.content_type.startswith("image/"):
        return refuse("Invalid distribution file.", "content-type")
    data = content.data
    if len(data) > index.file_size_limit:
        return refuse(
            f"File too large. Limit for project {display_name!r} is "
            f"{index.file_size_limit // ONE_MIB} MB. See {STORAGE_LIMITS}"
            "#requesting-a-file-size-limit-increase for more information.",
            "file-size",
        )
    if len(data) + index.project_size(normalized) > index.project_size_limit:
        return refuse(
            f"Project size too large. Limit for project {display_name!r} total size is "
            f"{index.project_size_limit // ONE_GIB} GB. See {STORAGE_LIMITS}"
            "#requesting-a-project-size-limit-increase",
            "project-size",
        )
    hashes = {
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake2_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }
    for algorithm, value in hashes.items():
        sent = _first(form, f"{algorithm}_digest")
        if sent and not hmac.compare_digest(sent.lower(), value):
            return refuse(
                "The digest supplied does not match a digest calculated from the uploaded file.",
                "digest",
            )
    existing = next(
        (f for f in index.files() if f.filename == filename or f.blake2_256 == hashes["blake2_256"]),
        None,
    )
    if existing is not None:
        if (existing.filename, existing.sha256, existing.blake2_256) == (
            filename,
            hashes["sha256"],
            hashes["blake2_256"],
        ):
            return Verdict(200, "", "duplicate")
        return refuse(
            f"File already exists ({filename!r}, with blake2_256 hash "
            f"{hashes['blake2_256']!r}). See {HELP}#file-name-reuse for more information.",
            "file-exists",
        )
    if release is not None and release.created < now - MAXIMUM_AGE_FOR_NEW_UPLOADS:
        return refuse(
            "Uploading new files to releases older than 14 days is not allowed.",
            "release-age",
        )
    if filetype == "sdist" and release is not None and any(
        f.packagetype == "sdist" for f in release.files
    ):
        return refuse("Only one sdist may be uploaded per release.", "second-sdist")
    with tempfile.TemporaryDirectory(prefix="warehouse-fake-") as directory:
        path = os.path.join(directory, filename)
        with open(path, "wb") as handle:  # a name over 255 bytes fails here: a 500, as on PyPI
            handle.write(data)
        verdict = distfile.check_file(path, filename, filetype, meta, normalized, display_name)
    if verdict is not None:
        return verdict
    stored = StoredFile(
        filename=filename,
        project=normalized,
        version=str(meta.version),
        packagetype=filetype,
        python_version=pyversion or "",
        size=len(data),
        md5=hashes["md5"],
        sha256=hashes["sha256"],
        blake2_256=hashes["blake2_256"],
        requires_python=str(meta.requires_python) if meta.requires_python else None,
        upload_time=now,
    )
    if release is None:
        release = Release(normalized, str(meta.version), version_key, now, release_info(meta))
    return Verdict(200, "", "accept", stored, release, display_name)


def commit(index: Index, verdict: Verdict) -> None:
    """Record an accepted upload (after storage succeeded: a failed upload creates nothing,
    as Warehouse's transaction is rolled back)."""
    if verdict.stored is not None:
        index.commit(verdict.stored, verdict.display_name, verdict.release)
