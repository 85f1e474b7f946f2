//! Wheel platform tags `PyPI` accepts: Warehouse `forklift/legacy.py` `_allowed_platforms` and
//! `_valid_platform_tag`, rule for rule (its regular expressions match at the start only).

/// Whether `PyPI` accepts a wheel platform tag: Warehouse `forklift/legacy.py`
/// `_valid_platform_tag`, on the tag lower-cased as `packaging` reports it. A Linux wheel must
/// be manylinux/musllinux (`linux_x86_64`, a wheel auditwheel never repaired, is refused);
/// macOS 10.x, or 11 to 15 and 26 with minor 0; iOS, Android and Pyodide
/// (`pyemscripten_<year>_<n>_wasm32`, PEP 783) with known architectures.
#[must_use]
pub fn pypi_platform_supported(tag: &str) -> bool {
    const STATIC: [&str; 18] = [
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
    ];
    const MAC_ARCHES: [&str; 11] = [
        "ppc",
        "ppc64",
        "i386",
        "x86_64",
        "arm64",
        "intel",
        "fat",
        "fat3",
        "fat64",
        "universal",
        "universal2",
    ];
    const MAC_MAJORS: [&str; 6] = ["11", "12", "13", "14", "15", "26"];
    const LINUX_ARCHES: [&str; 7] = [
        "x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64",
    ];
    const IOS_ARCHES: [&str; 2] = ["arm64", "x86_64"];
    const ANDROID_ARCHES: [&str; 4] = ["armeabi_v7a", "arm64_v8a", "x86", "x86_64"];
    let tag = tag.to_ascii_lowercase();
    let tag = tag.as_str();
    if STATIC.contains(&tag) {
        return true;
    }
    // Python's `re.match` anchors at the start only: `(\d+)_(\d+)_(?P<arch>.*)` and friends.
    if let Some((major, minor, arch)) = tag.strip_prefix("macosx_").and_then(numbered) {
        let major_ok = major == "10" || (MAC_MAJORS.contains(&major) && minor == "0");
        if major_ok && MAC_ARCHES.contains(&arch) {
            return true;
        }
    }
    if let Some((_, _, arch)) = tag.strip_prefix("manylinux_").and_then(numbered) {
        return LINUX_ARCHES.contains(&arch) || arch == "ppc64";
    }
    if let Some((_, _, arch)) = tag.strip_prefix("musllinux_").and_then(numbered) {
        return LINUX_ARCHES.contains(&arch);
    }
    // `ios_(\d+)_(\d+)_(?P<arch>.*)_(iphoneos|iphonesimulator)`, no end anchor: the arch runs
    // to the last `_iphoneos` / `_iphonesimulator`.
    if let Some((_, _, rest)) = tag.strip_prefix("ios_").and_then(numbered) {
        let arch_end = ["_iphonesimulator", "_iphoneos"]
            .iter()
            .filter_map(|sdk| rest.rfind(sdk))
            .max();
        if arch_end.is_some_and(|end| IOS_ARCHES.contains(&&rest[..end])) {
            return true;
        }
    }
    if let Some((api, arch)) = tag
        .strip_prefix("android_")
        .and_then(|rest| rest.split_once('_'))
    {
        if digits(api) && ANDROID_ARCHES.contains(&arch) {
            return true;
        }
    }
    // `pyemscripten_(?P<major>\d+)_(?P<minor>\d+)_wasm32`, no end anchor (PEP 783).
    tag.strip_prefix("pyemscripten_")
        .and_then(numbered)
        .is_some_and(|(_, _, rest)| rest.starts_with("wasm32"))
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `(\d+)_(\d+)_(rest)`.
fn numbered(text: &str) -> Option<(&str, &str, &str)> {
    let mut parts = text.splitn(3, '_');
    let (major, minor, rest) = (parts.next()?, parts.next()?, parts.next()?);
    (digits(major) && digits(minor)).then_some((major, minor, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_platform_tags() {
        for tag in [
            "any",
            "manylinux_2_17_x86_64",
            "musllinux_1_2_aarch64",
            "macosx_10_9_x86_64",
            "macosx_11_0_arm64",
            "win_amd64",
            "ios_13_0_arm64_iphoneos",
            "android_21_arm64_v8a",
        ] {
            assert!(pypi_platform_supported(tag), "{tag}");
        }
        // As Warehouse lists them: Pyodide (PEP 783), macOS 26, lower-cased first, and the
        // regular expressions anchored at the start only.
        for tag in [
            "pyemscripten_2024_0_wasm32",
            "macosx_26_0_arm64",
            "macosx_10_15_universal2",
            "MANYLINUX_2_28_X86_64",
            "ios_17_0_x86_64_iphonesimulator",
            "android_24_x86",
            "manylinux_2_17_ppc64",
        ] {
            assert!(pypi_platform_supported(tag), "{tag}");
        }
        for tag in [
            "linux_x86_64",
            "macosx_11_1_arm64",
            "macosx_16_0_arm64",
            "macosx_27_0_arm64",
            "manylinux_2_17_sparc",
            "musllinux_1_2_ppc64",
            "freebsd_14_amd64",
            "emscripten_3_1_58_wasm32",
            "pyemscripten_2024_0_wasm64",
            "ios_13_0_armv7_iphoneos",
            "android_21_mips",
        ] {
            assert!(!pypi_platform_supported(tag), "{tag}");
        }
    }
}
