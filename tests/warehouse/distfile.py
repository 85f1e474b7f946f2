"""The upload checks that need the file itself, in Warehouse's order: ``_is_valid_dist_file``,
the sdist's PEP 625 name and License-File members, the wheel's name, version, platform tags,
License-File members, RECORD, entry points, METADATA and the file name's length."""

from __future__ import annotations

import contextlib
import os
import tarfile
import zipfile

import packaging.utils
import packaging.version

from . import archives
from .model import Verdict, refuse
from .platforms import valid_platform_tag


def check_file(path, filename, filetype, meta, normalized, display_name) -> Verdict | None:
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


