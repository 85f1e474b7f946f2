"""The upload form a correct client sends for a dist file, for judging files offline.

It follows twine (``twine/package.py``, ``twine/repository.py``): the metadata file is the
wheel's ``{name}-{version}.dist-info/METADATA`` or the sdist's ``{top}/PKG-INFO``; every core
metadata field packaging knows is sent under its form name (repeated fields repeated, Keywords
as one field, Project-URL as ``label, URL``), unknown headers are not sent, and License-File is
dropped when the declared Metadata-Version is below 2.4. Beyond twine, a Description kept in a
folded header (metadata 1.x) is unfolded as its writers folded it: continuation lines lose the
8 spaces distutils added or the 7 spaces and ``|`` of PEP 345.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import os
import re
import tarfile
import zipfile

import packaging.metadata as pm
import packaging.version

from .formdata import FileField, FormData
from .metadata import RAW_TO_FORM

WHEEL_PYVERSION = re.compile(
    r"^(?P<name>.+?)(-(?P<ver>\d.+?))?(-(?P<build>\d.*?))?-(?P<pyver>.+?)-(?P<abi>.+?)-(?P<plat>.+?)\.whl$"
)


class NoMetadata(Exception):
    """The file has no metadata a client could read."""


def read_metadata(path: str) -> tuple[str, bytes]:
    """(member name, bytes) of the dist's core metadata file."""
    filename = os.path.basename(path)
    if filename.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            parts = filename.split("-", 2)
            preferred = f"{parts[0]}-{parts[1]}.dist-info/METADATA" if len(parts) == 3 else None
            candidates = [preferred] if preferred in names else []
            candidates += sorted(
                (n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)), key=len
            )
            for name in candidates:
                data = archive.read(name)
                if b"Metadata-Version" in data:
                    return name, data
        raise NoMetadata("no .dist-info/METADATA with a Metadata-Version")
    if filename.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as archive:
            top = os.path.commonpath(archive.getnames() or [""])
            try:
                member = archive.getmember(top.rstrip("/") + "/PKG-INFO")
            except KeyError:
                member = None
            if member is not None and member.isfile():
                data = archive.extractfile(member).read()
                if b"Metadata-Version" in data:
                    return member.name, data
        raise NoMetadata("no {top}/PKG-INFO with a Metadata-Version")
    if filename.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            top = os.path.commonpath(archive.namelist() or [""])
            name = top.rstrip("/") + "/PKG-INFO"
            try:
                data = archive.read(name)
            except KeyError:
                data = b""
            if b"Metadata-Version" in data:
                return name, data
        raise NoMetadata("no {top}/PKG-INFO with a Metadata-Version")
    raise NoMetadata("not a dist file name (.whl, .tar.gz, .zip)")


def unfold_description(value: str) -> str:
    lines = value.splitlines()
    unfolded = [lines[0].lstrip()] if lines else []
    for line in lines[1:]:
        if line.startswith("       |"):
            line = line[8:]
        elif line.startswith(" " * 8):
            line = line[8:]
        unfolded.append(line)
    return "\n".join(unfolded)


class UndecodableMetadata(Exception):
    """A metadata field is not UTF-8: no client can send it as PyPI's form expects."""


def _added_in(raw_name: str) -> str | None:
    """The Metadata-Version that introduced a field (packaging's own table)."""
    return getattr(pm.Metadata.__dict__.get(raw_name), "added", None)


def metadata_fields(data: bytes, drop_newer_fields: bool = False) -> list[tuple[str, str]]:
    """The form's metadata fields for a METADATA/PKG-INFO file. With `drop_newer_fields`, every
    field newer than the declared Metadata-Version is left out, not only License-File as twine
    does (a policy a client may choose; PyPI would then never see those fields)."""
    raw, unparsed = pm.parse_email(data)
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    fields: list[tuple[str, str]] = []
    for raw_name, value in raw.items():
        form_name = RAW_TO_FORM[raw_name]
        if raw_name == "keywords":
            # Sent as one comma-joined field; the header's own text is what the file says.
            fields.append((form_name, message.get("keywords") or ", ".join(value)))
        elif raw_name == "project_urls":
            fields.extend((form_name, f"{label}, {url}") for label, url in value.items())
        elif raw_name == "description":
            from_header = message.get_payload() in ("", None)
            fields.append((form_name, unfold_description(value) if from_header else value))
        elif isinstance(value, list):
            fields.extend((form_name, item) for item in value)
        else:
            fields.append((form_name, value))
    for email_name, values in unparsed.items():
        raw_name = pm._EMAIL_TO_RAW_MAPPING.get(email_name)
        if raw_name is None:
            continue  # unknown headers are not sent
        if raw_name == "description":
            values = _description_values(message)
        elif any(not isinstance(h, str) for h in message.get_all(email_name) or []):
            # email wraps undecodable bytes in a Header object
            raise UndecodableMetadata(f"the {email_name} field is not valid UTF-8")
        fields.extend((RAW_TO_FORM[raw_name], value) for value in values)
    version = raw.get("metadata_version", "0")
    try:
        drop_license_files = packaging.version.Version(version) < packaging.version.Version("2.4")
    except packaging.version.InvalidVersion:
        drop_license_files = False
    if drop_license_files:
        fields = [(name, value) for name, value in fields if name != "license_file"]
    if drop_newer_fields and version in pm._VALID_METADATA_VERSIONS:
        declared = pm._VALID_METADATA_VERSIONS.index(version)
        form_to_raw = {form: raw for raw, form in RAW_TO_FORM.items()}

        def newer(name: str) -> bool:
            added = _added_in(form_to_raw[name])
            return added is not None and pm._VALID_METADATA_VERSIONS.index(added) > declared

        fields = [(name, value) for name, value in fields if not newer(name)]
    return fields


def _description_values(message) -> list[str]:
    """The description(s) to send when packaging could not settle on one: the body when
    there is one (a header as well is ignored), else every Description header."""
    body = message.get_payload(decode=True) or b""
    if body:
        try:
            return [body.decode("utf-8")]
        except UnicodeDecodeError:
            raise UndecodableMetadata("the description (the body) is not valid UTF-8") from None
    headers = message.get_all("description") or []
    if any(not isinstance(h, str) for h in headers):
        raise UndecodableMetadata("the Description field is not valid UTF-8")
    return [unfold_description(h) for h in headers]


def upload_form(path: str, drop_newer_fields: bool = False) -> FormData:
    """The whole upload form for `path`: metadata, protocol fields, digests and the file."""
    filename = os.path.basename(path)
    _, data = read_metadata(path)
    fields = [(":action", "file_upload"), ("protocol_version", "1")]
    fields += metadata_fields(data, drop_newer_fields)
    if filename.endswith(".whl"):
        match = WHEEL_PYVERSION.match(filename)
        fields += [("filetype", "bdist_wheel"), ("pyversion", match["pyver"] if match else "any")]
    else:
        fields += [("filetype", "sdist"), ("pyversion", "source")]
    with open(path, "rb") as handle:
        content = handle.read()
    fields += [
        ("sha256_digest", hashlib.sha256(content).hexdigest()),
        ("blake2_256_digest", hashlib.blake2b(content, digest_size=32).hexdigest()),
        ("content", FileField(filename, "application/octet-stream", content)),
    ]
    return FormData(fields)
