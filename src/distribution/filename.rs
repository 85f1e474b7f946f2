//! Dist file names: the binary distribution format's wheel names
//! (<https://packaging.python.org/specifications/binary-distribution-format/>) and PEP 625
//! sdist names.

use std::str::FromStr as _;

use pep440_rs::Version;

use super::DistError;
use super::archive::Finding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DistKind {
    Wheel,
    Sdist,
}

impl DistKind {
    /// The kind a file name's extension says, `None` for files that are not dists.
    #[must_use]
    pub fn from_file_name(name: &str) -> Option<Self> {
        if has_suffix(name, ".whl") {
            Some(Self::Wheel)
        } else if has_suffix(name, ".tar.gz") || has_suffix(name, ".zip") {
            Some(Self::Sdist)
        } else {
            None
        }
    }

    /// The `filetype` form field.
    #[must_use]
    pub fn filetype(self) -> &'static str {
        match self {
            Self::Wheel => "bdist_wheel",
            Self::Sdist => "sdist",
        }
    }
}

/// The parts of a dist file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFilename {
    pub file_name: String,
    pub kind: DistKind,
    /// The distribution name as written in the file name (underscores for wheels).
    pub name: String,
    pub version: String,
    pub build_tag: Option<String>,
    pub python_tag: Option<String>,
    pub abi_tag: Option<String>,
    pub platform_tag: Option<String>,
}

impl DistFilename {
    pub fn parse(file_name: &str) -> Result<Self, DistError> {
        let kind = DistKind::from_file_name(file_name).ok_or_else(|| {
            DistError::invalid(
                file_name,
                "not a dist: the name must end in .whl or .tar.gz",
            )
        })?;
        match kind {
            DistKind::Wheel => Self::parse_wheel(file_name),
            DistKind::Sdist => Self::parse_sdist(file_name),
        }
    }

    fn parse_wheel(file_name: &str) -> Result<Self, DistError> {
        let stem = &file_name[..file_name.len() - ".whl".len()];
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build_tag, rest) = match parts.as_slice() {
            [name, version, python, abi, platform] => {
                (*name, *version, None, [*python, *abi, *platform])
            }
            [name, version, build, python, abi, platform] => {
                (*name, *version, Some(*build), [*python, *abi, *platform])
            }
            _ => {
                return Err(DistError::invalid(
                    file_name,
                    "not a valid wheel file name: expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl with `-` only between the parts",
                ));
            }
        };
        if rest
            .iter()
            .chain([&name, &version])
            .any(|part| part.is_empty())
        {
            return Err(DistError::invalid(
                file_name,
                "not a valid wheel file name: a part between `-` is empty",
            ));
        }
        Ok(Self {
            file_name: file_name.to_owned(),
            kind: DistKind::Wheel,
            name: name.to_owned(),
            version: version.to_owned(),
            build_tag: build_tag.map(str::to_owned),
            python_tag: Some(rest[0].to_owned()),
            abi_tag: Some(rest[1].to_owned()),
            platform_tag: Some(rest[2].to_owned()),
        })
    }

    fn parse_sdist(file_name: &str) -> Result<Self, DistError> {
        let extension_length = if has_suffix(file_name, ".tar.gz") {
            ".tar.gz".len()
        } else {
            ".zip".len()
        };
        let stem = &file_name[..file_name.len() - extension_length];
        let (name, version) = stem
            .rsplit_once('-')
            .filter(|(name, version)| !name.is_empty() && !version.is_empty())
            .ok_or_else(|| {
                DistError::invalid(
                    file_name,
                    "not a valid sdist file name: expected {name}-{version}.tar.gz (PEP 625)",
                )
            })?;
        Ok(Self {
            file_name: file_name.to_owned(),
            kind: DistKind::Sdist,
            name: name.to_owned(),
            version: version.to_owned(),
            build_tag: None,
            python_tag: None,
            abi_tag: None,
            platform_tag: None,
        })
    }
}

impl DistFilename {
    /// The file name's version as PEP 440, `None` when it is not one.
    #[must_use]
    pub fn parsed_version(&self) -> Option<Version> {
        Version::from_str(&self.version).ok()
    }

    /// The rules for the name itself: wheel names per the binary distribution format with a
    /// normalised name, sdist names per PEP 625, a PEP 440 version.
    #[must_use]
    pub fn check(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let version = self.parsed_version();
        if version.is_none() {
            findings.push(Finding::error(
                None,
                format!(
                    "the version `{}` in the file name is not a valid PEP 440 version; set a version like 1.2.3, 1.2.3rc1 or 1.2.3.post1 and rebuild",
                    self.version
                ),
            ));
        }
        if !valid_project_name(&self.name) {
            findings.push(Finding::error(
                None,
                format!(
                    "the name `{}` in the file name is not a valid project name (letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit)",
                    self.name
                ),
            ));
        }
        self.check_extension(&mut findings);
        match self.kind {
            DistKind::Wheel => self.check_wheel(&mut findings),
            DistKind::Sdist => self.check_sdist(version.as_ref(), &mut findings),
        }
        findings
    }

    /// `PyPI` matches extensions case-sensitively (Warehouse `_validate_filename`): `.WHL` is
    /// refused. Discovery finds any case so this says how to fix it.
    fn check_extension(&self, findings: &mut Vec<Finding>) {
        for extension in [".whl", ".tar.gz"] {
            let name = &self.file_name;
            if has_suffix(name, extension) && !name.ends_with(extension) {
                let found = &name[name.len() - extension.len()..];
                findings.push(Finding::error(
                    None,
                    format!(
                        "the extension `{found}` must be written `{extension}`: PyPI refuses other cases (\"Invalid file extension\"). Rename the file"
                    ),
                ));
            }
        }
    }

    /// What `PyPI` and `TestPyPI` check of the name alone: platform tags from their list, and
    /// a wheel name short enough to store beside its `.metadata` file.
    #[must_use]
    pub fn pypi_findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        if self.kind != DistKind::Wheel {
            return findings;
        }
        let platforms = self.platform_tag.as_deref().unwrap_or_default();
        for platform in platforms
            .split('.')
            .filter(|p| !super::platform::pypi_platform_supported(p))
        {
            findings.push(Finding::error(
                None,
                format!(
                    "PyPI refuses the platform tag `{platform}` (\"unsupported platform tag\"); repair the wheel for a portable platform (auditwheel for manylinux/musllinux, delocate for macOS), e.g. with cibuildwheel"
                ),
            ));
        }
        if self.file_name.len() > MAX_PYPI_WHEEL_NAME_BYTES {
            findings.push(Finding::error(
                None,
                format!(
                    "the file name is {} bytes long: PyPI refuses wheel names over {MAX_PYPI_WHEEL_NAME_BYTES} bytes (\"Filename is too long\": it stores `<name>.metadata` beside the file, and a file name has at most 255 bytes). Use fewer compressed tags in the name (`wheel tags`)",
                    self.file_name.len()
                ),
            ));
        }
        findings
    }

    fn check_wheel(&self, findings: &mut Vec<Finding>) {
        let escaped = escape_name(&self.name);
        if valid_project_name(&self.name) && self.name != escaped {
            findings.push(Finding::error(
                None,
                format!(
                    "the name part `{}` is not normalised: expected `{escaped}` (lower case, runs of `-_.` as one `_`); PyPI refuses it. Rebuild with a current build backend",
                    self.name
                ),
            ));
        }
        if let Some(build) = &self.build_tag {
            if !build.starts_with(|c: char| c.is_ascii_digit())
                || !build.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                findings.push(Finding::error(
                    None,
                    format!(
                        "the build tag `{build}` must start with a digit and hold only letters, digits and `_`"
                    ),
                ));
            }
        }
        for (what, tag) in [
            ("python", &self.python_tag),
            ("abi", &self.abi_tag),
            ("platform", &self.platform_tag),
        ] {
            let tag = tag.as_deref().unwrap_or_default();
            let valid = tag.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !valid {
                findings.push(Finding::error(
                    None,
                    format!(
                        "the {what} tag `{tag}` is not valid: `.`-separated parts of letters, digits and `_`"
                    ),
                ));
            }
        }
    }

    fn check_sdist(&self, version: Option<&Version>, findings: &mut Vec<Finding>) {
        let expected =
            version.map(|version| format!("{}-{version}.tar.gz", escape_name(&self.name)));
        if has_suffix(&self.file_name, ".zip") {
            let wanted = expected.as_deref().unwrap_or("{name}-{version}.tar.gz");
            findings.push(Finding::error(
                None,
                format!(
                    "a .zip sdist: PyPI refuses it (PEP 625: an sdist is a gzip tar named `{wanted}`). Build that with `python -m build --sdist` and delete the .zip"
                ),
            ));
            return;
        }
        let Some(expected) = expected else { return };
        // The extension's case is reported by itself (`check_extension`).
        let stem = &self.file_name[..self.file_name.len() - ".tar.gz".len()];
        if stem != &expected[..expected.len() - ".tar.gz".len()] {
            findings.push(Finding::error(
                None,
                format!(
                    "the file name breaks PEP 625: expected `{expected}` (normalised name, normalised version, .tar.gz), found `{}`; PyPI refuses it. Rebuild with a current build backend (setuptools >= 69.3, hatchling, flit-core >= 3.11)",
                    self.file_name
                ),
            ));
        }
    }
}

/// The escaped name of wheel and sdist file names: PEP 503 normalised, `-` written `_`.
#[must_use]
pub fn escape_name(name: &str) -> String {
    normalize_name(name).replace('-', "_")
}

/// A valid project name: `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, any case.
#[must_use]
pub fn valid_project_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `PyPI` refuses wheel file names longer than this (Warehouse writes `<name>.metadata`, and a
/// file name has at most 255 bytes).
pub const MAX_PYPI_WHEEL_NAME_BYTES: usize = 255 - ".metadata".len();

/// Case-insensitive suffix test (`.WHL` is a wheel too).
#[must_use]
pub fn has_suffix(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name.is_char_boundary(name.len() - suffix.len())
        && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
#[must_use]
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !normalized.is_empty() {
                normalized.push('-');
            }
            separator = false;
            normalized.push(character.to_ascii_lowercase());
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_with_and_without_build_tag() {
        let plain = DistFilename::parse("my_pkg-1.0.0-py3-none-any.whl").unwrap();
        assert_eq!(
            (
                plain.name.as_str(),
                plain.version.as_str(),
                plain.python_tag.as_deref()
            ),
            ("my_pkg", "1.0.0", Some("py3"))
        );
        let built = DistFilename::parse("pkg-2.0-1-cp312-cp312-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!(built.build_tag.as_deref(), Some("1"));
        assert_eq!(built.platform_tag.as_deref(), Some("manylinux_2_17_x86_64"));
        assert!(DistFilename::parse("pkg-1.0-py3-any.whl").is_err());
    }

    #[test]
    fn sdist_names() {
        let sdist = DistFilename::parse("my_pkg-1.0.0rc1.tar.gz").unwrap();
        assert_eq!(
            (sdist.name.as_str(), sdist.version.as_str()),
            ("my_pkg", "1.0.0rc1")
        );
        assert!(DistFilename::parse("nodash.tar.gz").is_err());
    }

    #[test]
    fn extensions_are_case_sensitive_and_zip_sdists_refused() {
        let messages = |name: &str| -> Vec<String> {
            DistFilename::parse(name)
                .unwrap()
                .check()
                .into_iter()
                .map(|f| f.message)
                .collect()
        };
        assert!(messages("demo-1.0-py3-none-any.WHL")[0].contains("`.WHL` must be written `.whl`"));
        assert!(messages("demo-1.0.TAR.GZ")[0].contains("`.TAR.GZ` must be written `.tar.gz`"));
        assert_eq!(messages("demo-1.0.TAR.GZ").len(), 1);
        assert!(messages("demo-1.0.zip")[0].contains("a .zip sdist: PyPI refuses it"));
        assert!(messages("demo-1.0.zip")[0].contains("`demo-1.0.tar.gz`"));
    }

    #[test]
    fn pypi_refuses_long_wheel_names() {
        let tags = ["manylinux_2_17_x86_64"; 11].join(".");
        let name = format!("demo-1.0-cp312-cp312-{tags}.whl");
        assert!(name.len() > MAX_PYPI_WHEEL_NAME_BYTES);
        let findings = DistFilename::parse(&name).unwrap().pypi_findings();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("over 246 bytes"));
        let short = format!(
            "demo-1.0-cp312-cp312-{}.whl",
            ["manylinux_2_17_x86_64"; 9].join(".")
        );
        assert!(
            DistFilename::parse(&short)
                .unwrap()
                .pypi_findings()
                .is_empty()
        );
    }

    #[test]
    fn pep503_normalisation() {
        assert_eq!(normalize_name("My_Pkg.Name--x"), "my-pkg-name-x");
    }
}
