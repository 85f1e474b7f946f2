"""PyPI's upload rules in Warehouse's order (``forklift/legacy.py`` ``file_upload`` at commit
6b62157): :func:`validate_upload` judges one upload form against an :class:`Index` and answers
PyPI's status and message, plus a short rule id naming the rule (for tests and the corpus).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import hmac
import os
import re
import tempfile
import threading
import tarfile
import zipfile
from email.message import EmailMessage

import packaging.utils
import packaging.version

from . import archives
from . import metadata as metadata_rules
from .platforms import valid_platform_tag
from .formdata import FileField, FormData, sanitize

ONE_MIB = 1024 * 1024
ONE_GIB = 1024 * ONE_MIB
DEFAULT_FILE_SIZE_LIMIT = 100 * ONE_MIB
DEFAULT_PROJECT_SIZE_LIMIT = 10 * ONE_GIB
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


@dataclasses.dataclass
class Verdict:
    """PyPI's answer: 200 (``rule`` is ``accept`` or ``duplicate``) or an error."""

    status: int
    message: str
    rule: str
    # For an accepted upload: what to record once the file is stored (see `commit`).
    stored: StoredFile | None = None
    release: Release | None = None
    display_name: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 200


@dataclasses.dataclass
class StoredFile:
    filename: str
    project: str  # normalized name
    version: str  # the release's version string
    packagetype: str
    python_version: str
    size: int
    md5: str
    sha256: str
    blake2_256: str
    requires_python: str | None
    upload_time: datetime.datetime


@dataclasses.dataclass
class Release:
    project: str  # normalized name
    version: str
    canonical_version: str
    created: datetime.datetime
    info: dict  # the JSON API's `info`, from the first upload's metadata
    files: list[StoredFile] = dataclasses.field(default_factory=list)


class Index:
    """What PyPI knows: projects, releases and files (in memory), tokens, limits."""

    def __init__(self, tokens=(), file_size_limit=DEFAULT_FILE_SIZE_LIMIT):
        self.tokens = set(tokens)
        self.file_size_limit = file_size_limit
        self.project_size_limit = DEFAULT_PROJECT_SIZE_LIMIT
        self.projects: dict[str, str] = {}  # normalized -> display name
        self.releases: dict[tuple[str, str], Release] = {}
        self.lock = threading.Lock()

    def files(self):
        for release in self.releases.values():
            yield from release.files

    def project_size(self, project: str) -> int:
        return sum(f.size for f in self.files() if f.project == project)

    def commit(self, stored: StoredFile, display_name: str, release: Release) -> None:
        self.projects[stored.project] = display_name
        self.releases.setdefault((release.project, release.canonical_version), release)
        release.files.append(stored)

    def age(self, project: str, version: str, days: float) -> bool:
        """Move a release and its files `days` into the past (test knob)."""
        key = (packaging.utils.canonicalize_name(project), _canonical_version(version))
        release = self.releases.get(key)
        if release is None:
            return False
        shift = datetime.timedelta(days=days)
        release.created -= shift
        for stored in release.files:
            stored.upload_time -= shift
        return True


def _canonical_version(version: str) -> str:
    try:
        return packaging.utils.canonicalize_version(version)
    except packaging.version.InvalidVersion:
        return version


def refuse(message, rule, status=400) -> Verdict:
    return Verdict(status, message, rule)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


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
    canonical_version = packaging.utils.canonicalize_version(meta.version)
    release = index.releases.get((normalized, canonical_version))
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
        verdict = _validate_file(path, filename, filetype, meta, normalized, display_name)
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
        release = Release(normalized, str(meta.version), canonical_version, now, release_info(meta))
    return Verdict(200, "", "accept", stored, release, display_name)


def commit(index: Index, verdict: Verdict) -> None:
    """Record an accepted upload (after storage succeeded: a failed upload creates nothing,
    as Warehouse's transaction is rolled back)."""
    if verdict.stored is not None:
        index.commit(verdict.stored, verdict.display_name, verdict.release)


def _validate_file(path, filename, filetype, meta, normalized, display_name) -> Verdict | None:
    """The checks that need the file: archive validity, names, wheel contents."""
    with contextlib.ExitStack() as stack:
        try:
            archive = stack.enter_context(archives.open_dist(path))
        except (zipfile.BadZipFile, tarfile.ReadError, EOFError):
            archive = None
        problem = archives.dist_file_problem(path, archive)
        if problem is not None:
            message, rule = problem
            return refuse(f"Invalid distribution file. {message}", f"dist-file:{rule}")
        if filetype == "sdist":
            return _sdist_names(archive, filename, meta, normalized, display_name)
        if filename.endswith(".whl"):
            return _wheel_checks(archive, path, filename, meta, normalized, display_name)
    return None


def _sdist_names(tar, filename, meta, normalized, display_name) -> Verdict | None:
    try:
        name_from_filename, _ = packaging.utils.parse_sdist_filename(filename)
    except packaging.utils.InvalidSdistFilename:
        return refuse(f"Invalid source distribution filename: {filename}", "sdist-filename")
    # Versions with a hyphen (post releases): Warehouse re-splits on the second-to-last hyphen.
    if (
        meta.version.is_postrelease
        and name_from_filename != packaging.utils.canonicalize_name(meta.name)
        and filename.count("-") >= 2
    ):
        name_from_filename = filename.rpartition("-")[0].rpartition("-")[0]
        with contextlib.suppress(packaging.version.InvalidVersion):
            packaging.version.Version(filename[len(name_from_filename) + 1 : -len(".tar.gz")])
    if packaging.utils.canonicalize_name(name_from_filename) != normalized:
        return refuse(
            f"Start filename for {display_name!r} with {normalized.replace('-', '_')!r}.",
            "sdist-filename-project",
        )
    expected = f"{normalized.replace('-', '_')}-{meta.version}.tar.gz"
    if filename != expected:
        return refuse(
            f"Filename {filename!r} is invalid, should be {expected!r}.", "sdist-filename-pep625"
        )
    if meta.license_files:
        assert isinstance(tar, tarfile.TarFile)
        top = archives.commonpath(tar.getnames())
        for license_file in meta.license_files:
            target = os.path.join(top, license_file)
            try:
                tar.getmember(target)
            except KeyError:
                return refuse(
                    f"License-File {license_file} does not exist in distribution file "
                    f"{filename} at {target}",
                    "license-file-missing",
                )
    return None


def _wheel_checks(zfp, path, filename, meta, normalized, display_name) -> Verdict | None:
    try:
        _, version, _, tags = packaging.utils.parse_wheel_filename(filename)
    except packaging.utils.InvalidWheelFilename as error:
        return refuse(str(error), "wheel-filename")
    for tag in tags:
        if not valid_platform_tag(tag.platform):
            return refuse(
                f"Binary wheel '{filename}' has an unsupported platform tag '{tag.platform}'.",
                "platform-tag",
            )
    parsed_name = packaging.utils.parse_wheel_filename(filename)[0]
    canonical = packaging.utils.canonicalize_name(meta.name)
    if canonical != parsed_name:
        return refuse(
            f"Start filename for {display_name!r} with {canonical.replace('-', '_')!r}.",
            "wheel-filename-project",
        )
    name_from_filename = filename.split("-", 1)[0]
    expected_name = normalized.replace("-", "_")
    if name_from_filename != expected_name:
        return refuse(
            f"Filename {filename!r} should contain the normalized project name "
            f"{expected_name!r}, not {name_from_filename!r}.",
            "wheel-filename-normalized",
        )
    if meta.version != version:
        return refuse(
            f"Version in filename should be {str(meta.version)!r} not {str(version)!r}.",
            "wheel-filename-version",
        )
    name, file_version, _ = filename.split("-", 2)
    assert isinstance(zfp, zipfile.ZipFile)
    dist_info = f"{name}-{file_version}.dist-info"
    for license_file in meta.license_files or []:
        target = f"{dist_info}/licenses/{license_file}"
        try:
            zfp.read(target)
        except KeyError:
            return refuse(
                f"License-File {license_file} does not exist in distribution file "
                f"{filename} at {target}",
                "license-file-missing",
            )
    try:
        archives.record_mismatch(zfp, name, file_version)  # a mismatch only e-mails the owners
    except archives.RecordMissing:
        return refuse(
            f"Wheel '{filename}' does not contain the required RECORD file: {dist_info}/RECORD",
            "record-missing",
        )
    if archives.entry_points_problem(zfp, name, file_version):
        return refuse(
            f"Wheel '{filename}' has invalid entry points defined in the entry_points.txt file",
            "entry-points",
        )
    try:
        metadata_bytes = zfp.read(f"{dist_info}/METADATA")
    except KeyError:
        return refuse(
            f"Wheel '{filename}' does not contain the required METADATA file: "
            f"{dist_info}/METADATA",
            "metadata-file-missing",
        )
    try:
        with open(path + ".metadata", "wb") as handle:
            handle.write(metadata_bytes)
    except OSError:
        return refuse(f"Filename is too long: '{filename}'", "filename-too-long")
    return None


def release_info(meta) -> dict:
    """The JSON API's ``info`` fields this fake keeps."""
    return {
        "name": meta.name,
        "version": str(meta.version),
        "summary": meta.summary,
        "description": meta.description or "",
        "description_content_type": meta.description_content_type,
        "author": meta.author,
        "author_email": meta.author_email,
        "maintainer": meta.maintainer,
        "maintainer_email": meta.maintainer_email,
        "license": meta.license,
        "license_expression": meta.license_expression,
        "license_files": meta.license_files,
        "keywords": ", ".join(meta.keywords) if meta.keywords else None,
        "classifiers": list(meta.classifiers or []),
        "requires_python": str(meta.requires_python) if meta.requires_python else None,
        "requires_dist": [str(r) for r in meta.requires_dist] if meta.requires_dist else None,
        "provides_extra": list(meta.provides_extra) if meta.provides_extra else None,
        "project_urls": dict(meta.project_urls) if meta.project_urls else None,
        "home_page": meta.home_page,
        "download_url": meta.download_url,
        "platform": meta.platforms[0] if meta.platforms else None,
        "dynamic": [d.title() for d in meta.dynamic] if meta.dynamic else None,
    }
