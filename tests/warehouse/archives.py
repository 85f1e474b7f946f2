"""Archive checks of PyPI's upload (Warehouse ``forklift/legacy.py`` ``_is_valid_dist_file``,
``utils/zipfiles.py``, ``utils/wheel.py``, ``utils/scanner.py`` with ``scanner_rules/``).

Each check answers a message (PyPI's text) and a short rule id, or None when it passes.
"""

from __future__ import annotations

import configparser
import csv
import os
import re
import struct
import tarfile
import zipfile
import zlib
from pathlib import PurePosixPath

ONE_MIB = 1024 * 1024
COMPRESSION_RATIO_MIN_SIZE = 64 * ONE_MIB
COMPRESSION_RATIO_THRESHOLD = 50

ARCHIVES_HELP = "See https://docs.pypi.org/archives for more information"


def commonpath(names: list[str]) -> str:
    return os.path.commonpath(names) if names else ""


# --- The YARA rules of scanner_rules/, as byte patterns -----------------------------------------
# pyarmor.yar: any of these strings; sourcedefender.yar: both markers. Only `.py` and `.pye`
# members up to 5 MiB are scanned; the first member (archive order) that matches a rule on its
# own decides, with the first rule (files sorted by name) winning.
SCAN_SUFFIXES = {".py", ".pye"}
SCAN_MAX_MEMBER = 5 * ONE_MIB
PYARMOR_PATTERNS = (
    b"__pyarmor__(__name__, __file__,",
    b"__pyarmor_enter__",
    b"__pyarmor_exit__",
    b"__pyarmor_assert__",
    b"__pyarmor_bcc__",
)
PYARMOR_MESSAGE = (
    "PyArmor-encrypted content is not allowed. "
    "See https://pypi.org/policy/acceptable-use-policy/ for more information."
)
SOURCEDEFENDER_MARKERS = (b"---BEGIN PYE FILE---", b"---END PYE FILE---")
SOURCEDEFENDER_MESSAGE = (
    "SourceDefender-encrypted content is not allowed. "
    "See https://pypi.org/policy/acceptable-use-policy/ for more information."
)


def scan_member(data: bytes) -> tuple[str, str] | None:
    if any(pattern in data for pattern in PYARMOR_PATTERNS):
        return PYARMOR_MESSAGE, "pyarmor"
    if all(marker in data for marker in SOURCEDEFENDER_MARKERS):
        return SOURCEDEFENDER_MESSAGE, "sourcedefender"
    return None


def scan_zip(archive: zipfile.ZipFile):
    for info in archive.infolist():
        if info.is_dir() or PurePosixPath(info.filename).suffix.lower() not in SCAN_SUFFIXES:
            continue
        data = archive.read(info.filename)
        if len(data) <= SCAN_MAX_MEMBER and (found := scan_member(data)):
            return found
    return None


def scan_tar(archive: tarfile.TarFile):
    for member in archive.getmembers():
        if not member.isfile() or PurePosixPath(member.name).suffix.lower() not in SCAN_SUFFIXES:
            continue
        handle = archive.extractfile(member)
        if handle is None:
            continue
        data = handle.read()
        if len(data) <= SCAN_MAX_MEMBER and (found := scan_member(data)):
            return found
    return None


# --- ZIP record framing (utils/zipfiles.py) -----------------------------------------------------
SIG_LOCAL = b"PK\x03\x04"
SIG_CENTRAL = b"PK\x01\x02"
SIG_EOCD = b"PK\x05\x06"
SIG_EOCD64 = b"PK\x06\x06"
SIG_EOCD64_LOCATOR = b"PK\x06\x07"
NO_DUPLICATE_EXTRAS = {0x0001, 0x7075}
UNPRINTABLE = set(range(0x20)) | {0x7F}
SENTINEL = 0xFFFFFFFF


class Framing(Exception):
    """A framing problem; the argument is PyPI's text for it."""


def _read(fp, size: int) -> bytes:
    data = fp.read(size)
    if len(data) != size:
        raise Framing("Malformed zip file")
    return data


def _check_name(name: bytes) -> None:
    if any(byte in UNPRINTABLE for byte in name):
        raise Framing("Invalid character in filename")


def _local_header(fp, central_sizes: dict[str, tuple[int, int]]) -> bytes:
    flags, method, packed, unpacked, name_len, extra_len = struct.unpack(
        "<2xHH8xLLHH", _read(fp, 26)
    )
    name = _read(fp, name_len)
    extra = _read(fp, extra_len)
    _check_name(name)
    seen: set[int] = set()
    while extra:
        if len(extra) < 4:
            raise Framing("Malformed zip file")
        extra_id, size = struct.unpack("<HH", extra[:4])
        if size + 4 > len(extra):
            raise Framing("Malformed zip file")
        if extra_id in seen and extra_id in NO_DUPLICATE_EXTRAS:
            raise Framing("Invalid duplicate extra in local file")
        seen.add(extra_id)
        if extra_id == 0x0001:  # ZIP64 sizes
            if size not in (0, 8, 16, 24, 28):
                raise Framing("Malformed zip file")
            if size == 0:
                if SENTINEL in (packed, unpacked):
                    raise Framing("Malformed zip file")
            elif size == 8:
                # Only the uncompressed size: valid for stored members only.
                if method != 0:
                    raise Framing("Malformed zip file")
                (packed,) = struct.unpack("<Q", extra[4:12])
                if unpacked == SENTINEL:
                    unpacked = packed
            else:
                if unpacked == SENTINEL:
                    (unpacked,) = struct.unpack("<Q", extra[4:12])
                (packed,) = struct.unpack("<Q", extra[12:20])
        elif extra_id == 0x7075:  # Info-ZIP Unicode path
            unicode_name = extra[9 : 4 + size]
            _check_name(unicode_name)
            try:
                unicode_name.decode("utf-8")
            except UnicodeError:
                raise Framing("Filename not valid UTF-8") from None
        extra = extra[size + 4 :]
    if flags & 0x08:
        raise Framing("ZIP contains a data descriptor")
    try:
        expected = central_sizes[name.decode("utf-8")]
    except UnicodeError:
        raise Framing("Filename not unicode") from None
    except KeyError:
        raise Framing("Filename not in central directory") from None
    if expected[0] != packed:
        raise Framing("Mis-matched data size")
    if expected[1] != unpacked:
        raise Framing("Mis-matched file size")
    fp.seek(packed, os.SEEK_CUR)
    return name


def _central_header(fp) -> tuple[bytes, bytes]:
    name_len, extra_len, comment_len = struct.unpack("<16x4x4xHHH8x4x", _read(fp, 42))
    if comment_len:
        raise Framing("Comment in central directory")
    name = _read(fp, name_len)
    extra = _read(fp, extra_len)
    _check_name(name)
    return name, extra


def _walk(fp, central_sizes) -> None:
    local_names: set[bytes] = set()
    central_names: set[bytes] = set()
    eocd64_at = None  # where an EOCD64 record was seen
    locator_seen = False
    cd_records = 0
    cd_offset = None
    cd_size = 0
    declared = None  # (records, size, offset) from EOCD64 or EOCD
    while True:
        signature = _read(fp, 4)
        if signature == SIG_EOCD and eocd64_at is not None and not locator_seen:
            raise Framing("Malformed zip file")
        if signature == SIG_CENTRAL:
            if cd_offset is None:
                cd_offset = fp.tell() - 4
            cd_records += 1
            name, extra = _central_header(fp)
            cd_size += 46 + len(name) + len(extra)
            if name in central_names:
                raise Framing("Duplicate filename in central directory")
            if name not in local_names:
                raise Framing("Missing filename in local headers")
            central_names.add(name)
        elif signature == SIG_LOCAL:
            name = _local_header(fp, central_sizes)
            if name in local_names:
                raise Framing("Duplicate filename in local headers")
            local_names.add(name)
        elif signature == SIG_EOCD:
            if cd_offset is None:
                cd_offset = fp.tell() - 4
            on_disk, records, size, offset, comment_len = struct.unpack(
                "<4xHHLLH", _read(fp, 18)
            )
            if on_disk != records:
                raise Framing("Malformed zip file")
            fp.seek(comment_len, os.SEEK_CUR)
            if not (locator_seen and declared is not None):
                declared = (records, size, offset)
            if declared[0] != cd_records:
                raise Framing("Mismatched central directory records")
            if declared[2] != cd_offset:
                raise Framing("Mismatched central directory offset")
            if declared[1] != cd_size:
                raise Framing("Mismatched central directory size")
            break
        elif signature == SIG_EOCD64:
            eocd64_at = fp.tell() - 4
            record_size, on_disk, records, size, offset = struct.unpack(
                "<Q12xQQQQ", _read(fp, 52)
            )
            if on_disk != records:
                raise Framing("Malformed zip file")
            if record_size != 44:
                raise Framing("ZIP64 extensible data not allowed")
            declared = (records, size, offset)
        elif signature == SIG_EOCD64_LOCATOR:
            _read(fp, 16)
            locator_seen = True
        else:
            raise Framing("Unknown record signature")
    if central_names != local_names:
        raise Framing("Mis-matched local headers and central directory")


def zip_framing_error(archive: zipfile.ZipFile) -> str | None:
    """Why PyPI refuses the ZIP's record framing (local headers vs central directory, data
    descriptors, comments, trailing data, ...), or None."""
    central_sizes = {
        info.orig_filename: (info.compress_size, info.file_size) for info in archive.filelist
    }
    fp = archive.fp
    saved = fp.tell()
    try:
        fp.seek(0)
        try:
            _walk(fp, central_sizes)
        except Framing as problem:
            return problem.args[0]
        end = fp.tell()
        fp.seek(0, os.SEEK_END)
        if end != fp.tell():
            return "Trailing data"
        return None
    finally:
        fp.seek(saved)


# --- _is_valid_dist_file -------------------------------------------------------------------------
def open_dist(path: str):
    """The archive Warehouse opens before validating (``_open_dist_file``); raises what
    zipfile/tarfile raise."""
    if path.endswith((".zip", ".whl")):
        return zipfile.ZipFile(path)
    if path.endswith(".tar.gz"):
        return tarfile.open(path, mode="r:gz")
    raise ValueError(f"Unsupported distribution file: {path}")


def dist_file_problem(path: str, archive=None) -> tuple[str | None, str] | None:
    """``_is_valid_dist_file``: None when valid, else (message, rule). The message may be None
    (PyPI then says "Invalid distribution file. None")."""
    is_zip = zipfile.is_zipfile(path)
    is_tar = tarfile.is_tarfile(path)
    if is_zip and is_tar:
        return "File is both a zip and a tar file", "zip-and-tar"
    if path.endswith((".zip", ".whl")):
        if not is_zip:
            return "File is not a zipfile", "not-a-zipfile"
        try:
            zfp = archive if archive is not None else zipfile.ZipFile(path)
            return _zip_problem(path, zfp)
        except zipfile.BadZipFile:
            return None, "bad-zipfile"
    if path.endswith(".tar.gz"):
        if not is_tar:
            return "File is not a tarfile", "not-a-tarfile"
        try:
            tar = archive if archive is not None else tarfile.open(path, "r:gz")
            return _tar_problem(tar)
        except (tarfile.ReadError, EOFError, zlib.error):
            return None, "bad-tarfile"
    return None


def _zip_problem(path: str, zfp: zipfile.ZipFile):
    packed = os.stat(path).st_size
    unpacked = sum(info.file_size for info in zfp.infolist())
    if (
        unpacked > COMPRESSION_RATIO_MIN_SIZE
        and unpacked / packed > COMPRESSION_RATIO_THRESHOLD
    ):
        return (
            f"File exceeds compression ratio of {COMPRESSION_RATIO_THRESHOLD}",
            "compression-ratio",
        )
    for info in zfp.infolist():
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return "File does not use a supported compression type", "compression-type"
    if path.endswith(".zip"):
        top = commonpath(zfp.namelist())
        if top in (".", "/", ""):
            return "Incorrect number of top-level directories in sdist", "top-level"
        target = os.path.join(top, "PKG-INFO")
        try:
            zfp.read(target)
        except KeyError:
            return f"PKG-INFO not found at {target}", "pkg-info-missing"
    if path.endswith(".whl"):
        try:
            name, version, _ = os.path.basename(path).split("-", 2)
        except ValueError:
            return "Unable to parse name and version from wheel filename", "wheel-name"
        target = os.path.join(f"{name}-{version}.dist-info", "WHEEL")
        try:
            zfp.read(target)
        except KeyError:
            return f"WHEEL not found at {target}", "wheel-missing"
    if found := scan_zip(zfp):
        return found
    if problem := zip_framing_error(zfp):
        return f"ZIP archive not accepted: {problem}. {ARCHIVES_HELP}", "zip-framing"
    return None


def _tar_problem(tar: tarfile.TarFile):
    top = commonpath(tar.getnames())
    if any(member.issparse() for member in tar.getmembers()):
        return (
            f"tar archive not accepted: Sparse members are not allowed. {ARCHIVES_HELP}",
            "tar-sparse",
        )
    if top in (".", "/", ""):
        return "Incorrect number of top-level directories in sdist", "top-level"
    target = os.path.join(top, "PKG-INFO")
    try:
        tar.getmember(target)
    except KeyError:
        return f"PKG-INFO not found at {target}", "pkg-info-missing"
    return scan_tar(tar)


# --- Wheel contents (utils/wheel.py) ------------------------------------------------------------
class RecordMissing(Exception):
    pass


def record_mismatch(zfp: zipfile.ZipFile, name: str, version: str) -> str | None:
    """Raises RecordMissing when RECORD is absent or unreadable (PyPI refuses); returns the
    mismatch between RECORD and the archive (PyPI only e-mails the owners), or None."""
    dist_info = f"{name}-{version}.dist-info"
    exempt = {f"{dist_info}/RECORD.jws", f"{dist_info}/RECORD.p7s"}
    try:
        text = zfp.read(f"{dist_info}/RECORD").decode()
        listed = set()
        for row in csv.reader(text.splitlines()):
            first, *_ = row  # a blank line raises ValueError, as on PyPI (a 500)
            listed.add(first.replace("\\", "/"))
        present = {
            member
            for member in zfp.namelist()
            if not member.endswith(("/", "\\")) and member not in exempt
        }
    except (UnicodeError, KeyError, csv.Error):
        raise RecordMissing from None
    if listed == present:
        return None
    return f"RECORD lists {sorted(listed - present)}, archive has unlisted {sorted(present - listed)}"


ENTRY_POINT_NAME = re.compile(r"[\w.-]+")


class _CaseSensitiveParser(configparser.ConfigParser):
    def optionxform(self, optionstr):
        return optionstr


def entry_points_problem(zfp: zipfile.ZipFile, name: str, version: str) -> str | None:
    try:
        text = zfp.read(f"{name}-{version}.dist-info/entry_points.txt").decode()
    except KeyError:
        return None
    except UnicodeError:
        return "entry_points.txt is not decodable as UTF-8"
    parser = _CaseSensitiveParser(delimiters=("=",))
    try:
        parser.read_string(text)
    except configparser.Error as error:
        return f"entry_points.txt is not a valid INI file: {error!r}"
    for section in ("console_scripts", "gui_scripts"):
        if section not in parser:
            continue
        for entry in parser[section]:
            if ENTRY_POINT_NAME.fullmatch(entry) is None:
                return f"Invalid entry point name {entry!r} in {section!r}"
    return None
