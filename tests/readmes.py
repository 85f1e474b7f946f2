"""Real-world long descriptions for the description-rendering differential test.

    readmes.py fetch PINS DIR   # test setup: download every pinned file into DIR (cached)
    readmes.py dump DIR         # print every description as JSON lines (id, content type, text)
    readmes.py pin NAMES PINS   # maintainer: pin the newest and a pre-2017 release of each name

The pins (tests/fixtures/readmes.tsv) name exact files by URL and sha256, so the setup makes no
index look-ups: for a release with a PEP 658 metadata file only that file (a few KiB) is fetched,
otherwise a small sdist whose PKG-INFO is read. The pre-2017 sdists carry the folded
`Description:` headers old setuptools and distutils wrote.
"""

import concurrent.futures
import hashlib
import io
import json
import pathlib
import sys
import tarfile
import urllib.request
import zipfile

SIMPLE = "https://pypi.org/simple/{}/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
MAX_SDIST = 3 * 1024 * 1024


def get(url, accept=None):
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def pin_one(name):
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion

    page = json.loads(get(SIMPLE.format(name), ACCEPT))
    releases = {}
    for file in page["files"]:
        if file.get("yanked"):
            continue
        filename = file["filename"]
        try:
            if filename.endswith(".whl"):
                version = parse_wheel_filename(filename)[1]
            elif filename.endswith((".tar.gz", ".zip")):
                version = parse_sdist_filename(filename)[1]
            else:
                continue
        except (ValueError, InvalidVersion):
            continue
        if version.is_prerelease or version.is_devrelease:
            continue
        releases.setdefault(version, []).append(file)
    pins = []
    if not releases:
        return pins
    newest = max(releases)
    files = releases[newest]
    with_metadata = [f for f in files if f["filename"].endswith(".whl") and f.get("core-metadata")]
    if with_metadata:
        file = with_metadata[0]
        sha = file["core-metadata"]["sha256"] if isinstance(file["core-metadata"], dict) else ""
        pins.append((name, str(newest), "metadata", file["url"] + ".metadata", sha))
    else:
        sdists = [f for f in files if not f["filename"].endswith(".whl") and f.get("size", 0) <= MAX_SDIST]
        if sdists:
            file = min(sdists, key=lambda f: f.get("size", 0))
            pins.append((name, str(newest), "sdist", file["url"], file["hashes"]["sha256"]))
    old = [
        (version, f)
        for version, fs in releases.items()
        for f in fs
        if not f["filename"].endswith(".whl")
        and f.get("upload-time", "9") < "2017-01-01"
        and f.get("size", 0) <= MAX_SDIST
    ]
    if old:
        version, file = max(old, key=lambda pair: pair[0])
        pins.append((name, str(version), "sdist", file["url"], file["hashes"]["sha256"]))
    return pins


def pin(names_file, pins_file):
    names = [line.strip() for line in open(names_file) if line.strip()]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(pin_one, names))
    with open(pins_file, "w") as out:
        out.write("# name\tversion\tkind\turl\tsha256 (tests/readmes.py pin)\n")
        for pins in results:
            for row in pins:
                out.write("\t".join(row) + "\n")


def fetch_one(row, directory):
    name, version, kind, url, sha256 = row
    target = directory / f"{name}-{version}.{kind}"
    if target.exists():
        return
    data = get(url)
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"{url}: sha256 differs from the pin")
    if kind == "sdist":
        data = sdist_pkg_info(data, url)
    target.with_suffix(".part").write_bytes(data)
    target.with_suffix(".part").rename(target)


def sdist_pkg_info(data, url):
    """The top-level PKG-INFO of an sdist (tar.gz or zip)."""
    if url.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
            return archive.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            parts = member.name.lstrip("./").split("/")
            if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                return archive.extractfile(member).read()
    raise SystemExit(f"{url}: no PKG-INFO")


def fetch(pins_file, directory):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = [
        line.rstrip("\n").split("\t")
        for line in open(pins_file)
        if line.strip() and not line.startswith("#")
    ]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda row: fetch_one(row, directory), rows))


def dump(directory):
    """Every file's description, as the test reads it: raw metadata text, one JSON line each."""
    for path in sorted(pathlib.Path(directory).iterdir()):
        if path.suffix not in (".metadata", ".sdist"):
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        print(json.dumps({"id": path.name, "metadata": text}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "pin":
        pin(sys.argv[2], sys.argv[3])
    elif command == "fetch":
        fetch(sys.argv[2], sys.argv[3])
    elif command == "dump":
        dump(sys.argv[2])
    else:
        raise SystemExit(__doc__)
