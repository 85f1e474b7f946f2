#!/usr/bin/env python3
"""Generate the benchmark dists (valid wheels with RECORD, one sdist) into a folder.

  gen_dists.py OUT          # OUT/small (39 wheels + 1 sdist), OUT/large (2 x 100 MB wheels),
                            # OUT/many (300 small wheels), OUT/wheels40 (40 small wheels),
                            # OUT/cibw (100 wheels of ~200 KB, DESIGN §8's cibuildwheel release)

Deterministic content (seeded), so every tool uploads the same bytes. Large wheels hold
incompressible random data stored uncompressed (as a wheel with native libraries would be).
"""
import base64
import hashlib
import io
import os
import random
import sys
import tarfile
import zipfile

PYTHONS = [("cp38", "cp38"), ("cp39", "cp39"), ("cp310", "cp310"), ("cp311", "cp311"), ("cp312", "cp312"),
           ("cp313", "cp313"), ("cp314", "cp314"), ("cp313", "cp313t"), ("cp314", "cp314t"), ("pp310", "pypy310_pp73")]
PLATFORMS = [
    f"{libc}_{arch}"
    for libc in ["manylinux_2_17", "manylinux_2_28", "musllinux_1_1", "musllinux_1_2"]
    for arch in ["x86_64", "aarch64", "i686", "ppc64le", "s390x"]
] + [
    "macosx_10_9_x86_64", "macosx_11_0_arm64", "macosx_10_13_universal2", "macosx_14_0_arm64",
    "win_amd64", "win32", "win_arm64", "linux_armv7l", "manylinux_2_31_riscv64", "ios_13_0_arm64_iphoneos",
]


def metadata(name, version):
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {version}\n"
        "Summary: A synthetic project for the upload benchmark\n"
        "Author-email: Bench <bench@example.org>\n"
        "License: MIT\n"
        "Requires-Python: >=3.8\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Description-Content-Type: text/markdown\n"
        "\n"
        f"# {name}\n\nA synthetic project used to benchmark uploads.\n"
    )


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def wheel(out_dir, name, version, tag, payload_size, rng, compress=True):
    dist = name.replace("-", "_")
    python, abi, platform = tag
    file_name = f"{dist}-{version}-{python}-{abi}-{platform}.whl"
    dist_info = f"{dist}-{version}.dist-info"
    members = [
        (f"{dist}/__init__.py", f'__version__ = "{version}"\n'.encode()),
        (f"{dist}/_native.bin", rng.randbytes(payload_size)),
        (f"{dist_info}/METADATA", metadata(name, version).encode()),
        (
            f"{dist_info}/WHEEL",
            f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\nTag: {python}-{abi}-{platform}\n".encode(),
        ),
    ]
    record = "".join(record_line(path, data) for path, data in members) + f"{dist_info}/RECORD,,\n"
    members.append((f"{dist_info}/RECORD", record.encode()))
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(os.path.join(out_dir, file_name), "w", method) as archive:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)


def sdist(out_dir, name, version, payload_size, rng):
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    files = {
        f"{root}/PKG-INFO": metadata(name, version).encode(),
        f"{root}/pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode(),
        f"{root}/src/{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{root}/src/{dist}/data.bin": rng.randbytes(payload_size),
    }
    with tarfile.open(os.path.join(out_dir, f"{root}.tar.gz"), "w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1767225600
            archive.addfile(info, io.BytesIO(data))


def tags(count):
    combos = [(python, abi, platform) for python, abi in PYTHONS for platform in PLATFORMS]
    assert count <= len(combos), count
    return combos[:count]


def main():
    out = sys.argv[1]
    rng = random.Random(20260101)
    small = os.path.join(out, "small")
    large = os.path.join(out, "large")
    many = os.path.join(out, "many")
    wheels40 = os.path.join(out, "wheels40")
    cibw = os.path.join(out, "cibw")
    folders = (small, large, many, wheels40, cibw)
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
    # (a) 40 small dists: 39 wheels of ~40 KB and one sdist.
    for tag in tags(39):
        wheel(small, "bench-small", "1.0.0", tag, 40_000, rng)
    sdist(small, "bench-small", "1.0.0", 40_000, rng)
    # (b) two ~100 MB wheels of incompressible data.
    for tag in [("cp312", "cp312", "manylinux_2_17_x86_64"), ("cp312", "cp312", "manylinux_2_17_aarch64")]:
        wheel(large, "bench-large", "1.0.0", tag, 100_000_000, rng, compress=False)
    # (c) 300 small wheels (a cibuildwheel-sized release).
    for tag in tags(300):
        wheel(many, "bench-many", "1.0.0", tag, 40_000, rng)
    # 40 small wheels of one project (the latency case: one round trip per file).
    for tag in tags(40):
        wheel(wheels40, "bench-forty", "1.0.0", tag, 40_000, rng)
    # 100 platform wheels of ~200 KB (incompressible payload): a cibuildwheel-sized release.
    for tag in tags(100):
        wheel(cibw, "bench-cibw", "1.0.0", tag, 200_000, rng)
    for folder in folders:
        print(folder, len(os.listdir(folder)), "files",
              sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)), "bytes")


if __name__ == "__main__":
    main()
