"""The wheel platform tags PyPI accepts (Warehouse ``forklift/legacy.py`` ``_valid_platform_tag``
at commit 6b62157): a fixed list, macOS 10.x and 11-15 and 26 (minor 0 from 11 on), manylinux /
musllinux (PEP 600/656) per architecture, iOS, Android, and Pyodide's ``pyemscripten`` (PEP 783).
"""

import re

FIXED = {
    "any",
    "win32",
    "win_arm64",
    "win_amd64",
    "win_ia64",
    "manylinux1_x86_64",
    "manylinux1_i686",
    "manylinux2010_x86_64",
    "manylinux2010_i686",
    "manylinux2014_x86_64",
    "manylinux2014_i686",
    "manylinux2014_aarch64",
    "manylinux2014_armv7l",
    "manylinux2014_ppc64",
    "manylinux2014_ppc64le",
    "manylinux2014_s390x",
    "linux_armv6l",
    "linux_armv7l",
}
MACOS = re.compile(r"macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.*)")
MACOS_ARCHES = {
    "ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal",
    "universal2",
}
MACOS_MAJORS = {"11", "12", "13", "14", "15", "26"}
IOS = re.compile(r"ios_(\d+)_(\d+)_(?P<arch>.*)_(iphoneos|iphonesimulator)")
IOS_ARCHES = {"arm64", "x86_64"}
ANDROID = re.compile(r"android_(\d+)_(?P<arch>.*)")
ANDROID_ARCHES = {"armeabi_v7a", "arm64_v8a", "x86", "x86_64"}
LINUX = re.compile(r"(?P<libc>(many|musl))linux_(\d+)_(\d+)_(?P<arch>.*)")
LINUX_ARCHES = {"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"}
MANYLINUX_ARCHES = LINUX_ARCHES | {"ppc64"}
PYEMSCRIPTEN = re.compile(r"pyemscripten_(?P<major>\d+)_(?P<minor>\d+)_wasm32")


def valid_platform_tag(tag: str) -> bool:
    if tag in FIXED:
        return True
    if match := MACOS.match(tag):
        arch_ok = match["arch"] in MACOS_ARCHES
        if match["major"] == "10" and arch_ok:
            return True
        if match["major"] in MACOS_MAJORS and match["minor"] == "0" and arch_ok:
            return True
    if match := LINUX.match(tag):
        arches = LINUX_ARCHES if match["libc"] == "musl" else MANYLINUX_ARCHES
        return match["arch"] in arches
    if (match := IOS.match(tag)) and match["arch"] in IOS_ARCHES:
        return True
    if (match := ANDROID.match(tag)) and match["arch"] in ANDROID_ARCHES:
        return True
    return bool(PYEMSCRIPTEN.match(tag))
