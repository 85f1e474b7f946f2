"""PyPI's JSON API (``warehouse/legacy/api/json.py``) over what the fake accepted:
``/pypi/{name}/json`` (the latest release, with ``releases``) and ``/pypi/{name}/{version}/json``
(``info``, ``urls`` with digests and upload times, ``vulnerabilities``, ...); a name that is not
normalized answers 301 to the normalized URL, an unknown release 404 ``{"message": "Not Found"}``.
"""

from __future__ import annotations

import packaging.utils
import packaging.version

from .model import Index, Release, StoredFile, canonical_version

CORS = [("Access-Control-Allow-Origin", "*")]


def answer(index: Index, base_url: str, name: str, version: str | None):
    """(status, JSON value, headers) for a JSON API request."""
    normalized = packaging.utils.canonicalize_name(name)
    not_found = (404, {"message": "Not Found"}, CORS)
    releases = [r for (project, _), r in index.releases.items() if project == normalized]
    if not releases:
        return not_found
    if name != normalized:
        target = f"/pypi/{normalized}/{version + '/' if version else ''}json"
        return 301, None, [("Location", target)]
    if version is None:
        # The latest release, final releases before pre-releases (as PyPI orders them).
        release = max(
            releases,
            key=lambda r: (
                not packaging.version.parse(r.version).is_prerelease,
                packaging.version.parse(r.version),
            ),
        )
    else:
        release = index.releases.get((normalized, canonical_version(version)))
        if release is None:
            return not_found
    data = {
        "info": info(index, base_url, release),
        "last_serial": sum(len(r.files) for r in releases),
        "urls": files_json(base_url, release),
        "vulnerabilities": [],
        "ownership": {"roles": [], "organization": None},
    }
    if version is None:
        data["releases"] = {r.version: files_json(base_url, r) for r in releases}
    return 200, data, CORS


def info(index: Index, base_url: str, release: Release) -> dict:
    display = index.projects.get(release.project, release.project)
    project_url = f"{base_url}/project/{display}/"
    return {
        **release.info,
        "name": display,
        "downloads": {"last_day": -1, "last_week": -1, "last_month": -1},
        "package_url": project_url,
        "project_url": project_url,
        "release_url": f"{project_url}{release.version}/",
        "docs_url": None,
        "bugtrack_url": None,
        "yanked": False,
        "yanked_reason": None,
    }


def files_json(base_url: str, release: Release) -> list[dict]:
    return [file_json(base_url, f) for f in sorted(release.files, key=lambda f: f.filename)]


def file_json(base_url: str, stored: StoredFile) -> dict:
    return {
        "filename": stored.filename,
        "packagetype": stored.packagetype,
        "python_version": stored.python_version,
        "has_sig": False,
        "comment_text": None,
        "md5_digest": stored.md5,
        "digests": {
            "md5": stored.md5,
            "sha256": stored.sha256,
            "blake2b_256": stored.blake2_256,
        },
        "core-metadata": False,
        "size": stored.size,
        "downloads": -1,
        "upload_time": stored.upload_time.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": stored.upload_time.isoformat() + "Z",
        "url": f"{base_url}/packages/{stored.filename}",
        "requires_python": stored.requires_python,
        "yanked": False,
        "yanked_reason": None,
    }
