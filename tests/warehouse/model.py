"""What the fake PyPI knows and answers: its projects, releases and files (in memory), and
the verdict on one upload (PyPI's status and message, plus a short rule id for tests and the
corpus)."""

from __future__ import annotations

import dataclasses
import datetime
import threading

import packaging.utils
import packaging.version

ONE_MIB = 1024 * 1024
ONE_GIB = 1024 * ONE_MIB
DEFAULT_FILE_SIZE_LIMIT = 100 * ONE_MIB
DEFAULT_PROJECT_SIZE_LIMIT = 10 * ONE_GIB


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
        key = (packaging.utils.canonicalize_name(project), canonical_version(version))
        release = self.releases.get(key)
        if release is None:
            return False
        shift = datetime.timedelta(days=days)
        release.created -= shift
        for stored in release.files:
            stored.upload_time -= shift
        return True


def canonical_version(version: str) -> str:
    """The canonical form of a version (the text itself when it is not PEP 440)."""
    try:
        return packaging.utils.canonicalize_version(version)
    except packaging.version.InvalidVersion:
        return version


def refuse(message, rule, status=400) -> Verdict:
    return Verdict(status, message, rule)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


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
