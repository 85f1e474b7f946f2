#!/usr/bin/env python3
"""The real-world corpus: release folders of popular projects, downloaded from PyPI.

  scripts/fetch-corpus.py [--verify]
      Download every file of tests/corpus/releases.json that is missing (or has another size;
      with --verify, another sha256) into target/corpus/<release folder>/<file>. Each download's
      sha256 and size are checked against the manifest, which recorded them from PyPI's simple
      index. Run by
      `scripts/test.sh --setup`; needs only the standard library and network access to
      files.pythonhosted.org (a moved file is looked up again on https://pypi.org/simple/).

  scripts/fetch-corpus.py --curate
      Maintainers only: resolve tests/corpus/selection.txt through the simple index (JSON,
      PEP 691), pick each release's files, download them, judge each new file with the
      offline oracle (`python -m warehouse check`, PyPI's rules applied to the file as a
      correct client would send it) and rewrite the manifest. Verdicts already in the
      manifest are kept (they were reviewed); the oracle's verdict is written for new files.

selection.txt: one release a line, `project==version` or `project@YEAR` (the last release
first uploaded in that year), then optional file-name globs (default: the sdist plus up to
four wheels covering different platforms, smallest first), then `# why it is in the corpus`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "tests", "corpus", "releases.json")
SELECTION = os.path.join(ROOT, "tests", "corpus", "selection.txt")
CACHE = os.path.join(ROOT, "target", "corpus")
SIMPLE = "https://pypi.org/simple/{}/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 60
ATTEMPTS = 3
MAX_FILE = 200 * 1024 * 1024
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


def get(url: str, accept: str | None = None) -> bytes:
    last = None
    for attempt in range(ATTEMPTS):
        request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                data = response.read(MAX_FILE + 1)
                if len(data) > MAX_FILE:
                    raise ValueError(f"{url} is larger than {MAX_FILE} bytes")
                return data
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise
            last = error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            last = error
        time.sleep(2 * (attempt + 1))
    raise RuntimeError(f"GET {url} failed {ATTEMPTS} times: {last}")


def simple_files(project: str) -> list[dict]:
    page = json.loads(get(SIMPLE.format(project), ACCEPT))
    return page["files"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(release: dict, entry: dict, verify: bool = False) -> str:
    """Fetch one file unless the cache has it (same size; same sha256 with `verify`)."""
    folder = os.path.join(CACHE, release["folder"])
    path = os.path.join(folder, entry["filename"])
    if os.path.exists(path) and os.path.getsize(path) == entry["size"]:
        if not verify or file_sha256(path) == entry["sha256"]:
            return "cached"
    try:
        data = get(entry["url"])
    except urllib.error.HTTPError:
        # The URL moved: look the file up on the simple index again.
        listed = {f["filename"]: f for f in simple_files(release["project"])}
        data = get(listed[entry["filename"]]["url"])
    if sha256(data) != entry["sha256"] or len(data) != entry["size"]:
        raise RuntimeError(
            f"{entry['filename']}: sha256/size differ from the manifest (PyPI's simple index)"
        )
    os.makedirs(folder, exist_ok=True)
    partial = path + ".part"
    with open(partial, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)
    return "downloaded"


def fetch(manifest: dict, workers: int = 4, verify: bool = False) -> int:
    jobs = [(release, entry) for release in manifest["releases"] for entry in release["files"]]
    counts: dict[str, int] = {}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {
            pool.submit(download, release, entry, verify): entry for release, entry in jobs
        }
        for future in concurrent.futures.as_completed(futures):
            try:
                outcome = future.result()
                counts[outcome] = counts.get(outcome, 0) + 1
            except Exception as error:  # every failure is listed at the end
                failures.append(f"{futures[future]['filename']}: {error}")
    prune(manifest)
    size = sum(entry["size"] for _, entry in jobs)
    print(
        f"corpus: {len(manifest['releases'])} releases, {len(jobs)} files, "
        f"{size / 1e6:.0f} MB in {os.path.relpath(CACHE, ROOT)} "
        f"({counts.get('downloaded', 0)} downloaded, {counts.get('cached', 0)} cached)"
    )
    for failure in sorted(failures):
        print(f"corpus: FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


def prune(manifest: dict) -> None:
    """Remove what an older manifest left in the cache (so a release folder holds exactly the
    manifest's files)."""
    wanted = {
        (release["folder"], entry["filename"])
        for release in manifest["releases"]
        for entry in release["files"]
    }
    folders = {folder for folder, _ in wanted}
    if not os.path.isdir(CACHE):
        return
    for folder in os.listdir(CACHE):
        path = os.path.join(CACHE, folder)
        if not os.path.isdir(path):
            continue
        for name in os.listdir(path):
            if (folder, name) not in wanted:
                os.remove(os.path.join(path, name))
        if folder not in folders and not os.listdir(path):
            os.rmdir(path)


# --- curation --------------------------------------------------------------------------------
LINE = re.compile(r"^(?P<project>[A-Za-z0-9._-]+)(==(?P<version>\S+)|@(?P<year>\d{4}))(?P<rest>.*)$")


def parse_selection(path: str) -> list[dict]:
    wanted = []
    for number, raw in enumerate(open(path, encoding="utf-8"), 1):
        line, _, why = raw.partition("#")
        line = line.strip()
        if not line:
            continue
        match = LINE.match(line)
        if match is None:
            raise SystemExit(f"{path}:{number}: cannot read `{line}`")
        wanted.append(
            {
                "project": match["project"],
                "version": match["version"],
                "year": match["year"],
                "globs": match["rest"].split(),
                "why": why.strip(),
            }
        )
    return wanted


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def version_of(filename: str, project: str) -> str | None:
    """The version in a dist file name (sdist or wheel), if it can be told."""
    stem = re.sub(r"(\.tar\.gz|\.zip|\.whl)$", "", filename)
    if filename.endswith(".whl"):
        parts = stem.split("-")
        return parts[1] if len(parts) >= 5 else None
    for index, char in enumerate(stem):
        if char == "-" and canonical(stem[:index]) == canonical(project):
            return stem[index + 1 :]
    return None


PLATFORMS = [
    ("any", lambda n: n.endswith("-any.whl")),
    ("manylinux-x86_64", lambda n: "manylinux" in n and "x86_64" in n),
    ("musllinux", lambda n: "musllinux" in n),
    ("macos-arm64", lambda n: "macosx" in n and ("arm64" in n or "universal2" in n)),
    ("macos", lambda n: "macosx" in n),
    ("windows", lambda n: "win_amd64" in n or "win32" in n or "win_arm64" in n),
    ("pyemscripten", lambda n: "pyemscripten" in n or "emscripten" in n),
    ("ios", lambda n: "_ios_" in n),
    ("android", lambda n: "android_" in n),
    ("manylinux-other", lambda n: "manylinux" in n),
]


def pick_files(files: list[dict], globs: list[str]) -> list[dict]:
    dists = [f for f in files if f["filename"].endswith(DIST_SUFFIXES)]
    if globs:
        return [f for f in dists if any(fnmatch.fnmatch(f["filename"], g) for g in globs)]
    chosen = [f for f in dists if not f["filename"].endswith(".whl")][:2]
    wheels = sorted((f for f in dists if f["filename"].endswith(".whl")), key=lambda f: f["size"])
    covered = set()
    for wheel in wheels:
        kind = next((k for k, test in PLATFORMS if test(wheel["filename"])), "other")
        if kind in covered:
            continue
        covered.add(kind)
        chosen.append(wheel)
        if sum(f["filename"].endswith(".whl") for f in chosen) >= 4:
            break
    return chosen


def resolve(want: dict) -> dict:
    files = simple_files(want["project"])
    by_version: dict[str, list[dict]] = {}
    for entry in files:
        if not entry["filename"].endswith(DIST_SUFFIXES):
            continue  # eggs, Windows installers, .tar.bz2: not dists an index takes today
        version = version_of(entry["filename"], want["project"])
        if version:
            by_version.setdefault(version, []).append(entry)
    if want["version"]:
        version = want["version"]
        if version not in by_version:
            raise SystemExit(f"{want['project']}=={version}: no such files on PyPI")
    else:
        first_upload = {
            v: min(f.get("upload-time") or "9999" for f in fs) for v, fs in by_version.items()
        }
        in_year = [v for v, t in first_upload.items() if t.startswith(want["year"])]
        if not in_year:
            raise SystemExit(f"{want['project']}@{want['year']}: no release that year")
        version = max(in_year, key=lambda v: first_upload[v])
    chosen = pick_files(by_version[version], want["globs"])
    if not chosen:
        raise SystemExit(f"{want['project']} {version}: no files match {want['globs']}")
    return {
        "folder": f"{want['project'].lower()}-{version}",
        "project": want["project"],
        "version": version,
        "why": want["why"],
        "files": [
            {
                "filename": f["filename"],
                "url": f["url"],
                "sha256": f["hashes"]["sha256"],
                "size": f["size"],
                "upload_time": f.get("upload-time"),
            }
            for f in chosen
        ],
    }


def generator(path: str) -> str | None:
    """What built a wheel (its WHEEL `Generator`)."""
    if not path.endswith(".whl"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith(".dist-info/WHEEL") and name.count("/") == 1:
                    for line in archive.read(name).decode("utf-8", "replace").splitlines():
                        if line.lower().startswith("generator:"):
                            return line.split(":", 1)[1].strip()
    except (zipfile.BadZipFile, OSError):
        return None
    return None


def curate(python: str) -> int:
    old = {}
    if os.path.exists(MANIFEST):
        for release in json.load(open(MANIFEST, encoding="utf-8"))["releases"]:
            for entry in release["files"]:
                old[(release["folder"], entry["filename"])] = entry
    wanted = parse_selection(SELECTION)

    def attempt(want):
        try:
            return resolve(want)
        except (SystemExit, Exception) as error:  # every unresolvable line is listed
            return f"{want['project']}: {error}"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        releases = list(pool.map(attempt, wanted))
    problems = [r for r in releases if isinstance(r, str)]
    for problem in problems:
        print(f"selection: {problem}", file=sys.stderr)
    if problems:
        return 1
    folders = [r["folder"] for r in releases]
    duplicates = {f for f in folders if folders.count(f) > 1}
    if duplicates:
        raise SystemExit(f"releases selected twice: {sorted(duplicates)}")
    manifest = {"releases": releases}
    if fetch(manifest):
        return 1
    new = [
        os.path.join(CACHE, r["folder"], e["filename"])
        for r in releases
        for e in r["files"]
        if (r["folder"], e["filename"]) not in old
    ]
    verdicts = {}
    if new:
        listing = os.path.join(ROOT, "target", "corpus-new-files.txt")
        with open(listing, "w", encoding="utf-8") as handle:
            handle.write("\n".join(new) + "\n")
        answer = subprocess.run(
            [python, "-m", "warehouse", "check", "--json", f"@{listing}"],
            cwd=os.path.join(ROOT, "tests"),
            capture_output=True,
            text=True,
            check=False,
        )
        for line in answer.stdout.splitlines():
            result = json.loads(line)
            verdicts[os.path.relpath(result["file"], CACHE)] = result
    for release in releases:
        for entry in release["files"]:
            key = (release["folder"], entry["filename"])
            path = os.path.join(CACHE, *key)
            entry["generator"] = generator(path)
            if key in old:
                for field in ("verdict", "oracle_message", "note"):
                    if field in old[key]:
                        entry[field] = old[key][field]
            else:
                result = verdicts[os.path.join(*key)]
                entry["verdict"] = result["verdict"]
                if result["message"]:
                    entry["oracle_message"] = result["message"]
    manifest = {
        "about": (
            "Real releases of popular projects and the verdict PyPI's rules give each file "
            "today (accept, the rule that refuses it, or `refuse-safety: <reason>` where only "
            "our deliberate safety stance refuses it). Written by scripts/fetch-corpus.py "
            "--curate from tests/corpus/selection.txt; verdicts reviewed by hand."
        ),
        "releases": releases,
    }
    with open(MANIFEST, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    print(f"wrote {os.path.relpath(MANIFEST, ROOT)}: {len(new)} new file(s) judged")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curate", action="store_true", help="rebuild the manifest")
    parser.add_argument("--verify", action="store_true",
                        help="re-hash cached files too (by default a cached file of the right "
                        "size is trusted; every download is checked)")
    parser.add_argument("--python", default=os.path.join(ROOT, "target/test-env/venv/bin/python"),
                        help="the test venv's python (for --curate's oracle)")
    args = parser.parse_args()
    if args.curate:
        return curate(args.python)
    if not os.path.exists(MANIFEST):
        print(f"no corpus manifest at {MANIFEST}", file=sys.stderr)
        return 1
    return fetch(json.load(open(MANIFEST, encoding="utf-8")), verify=args.verify)


if __name__ == "__main__":
    sys.exit(main())
