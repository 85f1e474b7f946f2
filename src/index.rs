//! The index's simple repository API (PEP 503 HTML, PEP 691 JSON): which files a project
//! already has, with their sha256, so that re-runs skip identical files and uploads are
//! confirmed afterwards.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use url::Url;

use crate::distribution::filename::{DistFilename, normalize_name};
use crate::http::{ResponseExt as _, RetryPolicy, is_retryable};

const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

/// The files a project has on the index: file name -> sha256 (when the index gives one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFiles {
    pub files: BTreeMap<String, Option<String>>,
}

impl ProjectFiles {
    /// The sha256 the index lists for a file: `None` = not listed, `Some(None)` = listed
    /// without a hash.
    #[must_use]
    pub fn sha256_of(&self, file_name: &str) -> Option<Option<&str>> {
        self.files.get(file_name).map(Option::as_deref)
    }

    /// Whether the index lists any file of `version` (PEP 440 equality: `1.0` is `1.0.0`),
    /// i.e. whether the release exists there. Names that are not dist names are passed over.
    #[must_use]
    pub fn has_release(&self, version: &str) -> bool {
        let Ok(wanted) = pep440_rs::Version::from_str(version) else {
            return false;
        };
        self.files.keys().any(|file_name| {
            DistFilename::parse(file_name)
                .ok()
                .and_then(|parsed| parsed.parsed_version())
                .is_some_and(|listed| listed == wanted)
        })
    }
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The project page exists.
    Found(ProjectFiles),
    /// 404: the project is new (or the check URL is not a simple index).
    NotFound,
}

/// The simple index page URL of a project.
pub fn project_url(check_url: &Url, project: &str) -> anyhow::Result<Url> {
    Ok(check_url.join(&format!("{}/", normalize_name(project)))?)
}

/// Ask the index for a project's files, retrying 429/5xx and connection errors a few times.
/// A request that ran out of time (headers that trickle, a body that drips: each request ends
/// at [`crate::http::request_deadline`]) is not tried again: such a server does not get
/// faster, and a lookup costs at most one deadline then.
pub async fn lookup(
    client: &reqwest::Client,
    check_url: &Url,
    project: &str,
) -> anyhow::Result<Lookup> {
    let url = project_url(check_url, project)?;
    let policy = RetryPolicy {
        attempts: 3,
        ..RetryPolicy::from_env()
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, ACCEPT)
            .header(reqwest::header::CACHE_CONTROL, "max-age=0")
            .send()
            .await
            // The messages name the URL without its query and user info themselves.
            .map_err(reqwest::Error::without_url);
        let response = match result {
            Ok(response) => response,
            Err(error) if attempt < policy.attempts && !error.is_timeout() => {
                tracing::debug!(
                    "index lookup {} failed ({error}); retrying",
                    crate::http::display_url(&url)
                );
                tokio::time::sleep(policy.delay(attempt, None)).await;
                continue;
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(format!(
                    "failed to query the index at {}",
                    crate::http::display_url(&url)
                )));
            }
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Lookup::NotFound);
        }
        if is_retryable(status) && attempt < policy.attempts {
            let wait = policy.delay(attempt, crate::http::retry_after(response.headers()));
            tokio::time::sleep(wait).await;
            continue;
        }
        let response = response.error_for_status_with_body("GET").await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = crate::http::read_body(response, crate::http::BodyKind::SimplePage).await?;
        let text = String::from_utf8_lossy(&body);
        let files = if content_type.contains("json") {
            parse_json(&text)
                .map_err(|error| anyhow::anyhow!("{}: {error}", crate::http::display_url(&url)))?
        } else {
            parse_html(&text, &url)
        };
        return Ok(Lookup::Found(files));
    }
}

/// Whether a lookup failed because the index ran out of time (see [`lookup`]).
#[must_use]
pub fn is_timeout(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
            || matches!(
                cause.downcast_ref::<crate::http::BodyError>(),
                Some(crate::http::BodyError::TooSlow { .. })
            )
    })
}

#[derive(serde::Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(serde::Deserialize)]
struct JsonFile {
    filename: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

fn parse_json(text: &str) -> anyhow::Result<ProjectFiles> {
    let page: JsonPage = serde_json::from_str(text)
        .map_err(|error| anyhow::anyhow!("the index's PEP 691 JSON page is malformed: {error}"))?;
    Ok(ProjectFiles {
        files: page
            .files
            .into_iter()
            .map(|file| {
                (
                    file.filename,
                    file.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
                )
            })
            .collect(),
    })
}

/// PEP 503 HTML: `<a href="../../packages/x/file.whl#sha256=HEX">file.whl</a>`.
fn parse_html(text: &str, base: &Url) -> ProjectFiles {
    let mut files = BTreeMap::new();
    let lower = text.to_ascii_lowercase();
    let mut position = 0;
    while let Some(start) = lower[position..].find("<a") {
        let tag_start = position + start;
        let Some(tag_end) = lower[tag_start..].find('>').map(|end| tag_start + end) else {
            break;
        };
        position = tag_end;
        let Some(href) = attribute(&text[tag_start..tag_end], "href") else {
            continue;
        };
        let href = unescape_html(href);
        let Ok(url) = base.join(&href) else { continue };
        let Some(file_name) = url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .filter(|name| !name.is_empty())
        else {
            continue;
        };
        let file_name = percent_decode(file_name);
        let sha256 = url
            .fragment()
            .and_then(|fragment| fragment.strip_prefix("sha256="))
            .map(str::to_ascii_lowercase);
        files.insert(file_name, sha256);
    }
    ProjectFiles { files }
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find(name) {
        let start = search + found;
        search = start + name.len();
        let before_ok = start == 0 || lower.as_bytes()[start - 1].is_ascii_whitespace();
        let rest = tag[search..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let end = value[1..].find(quote)?;
            return Some(&value[1..=end]);
        }
        let end = value
            .find(|c: char| c.is_whitespace() || c == '>')
            .unwrap_or(value.len());
        return Some(&value[..end]);
    }
    None
}

fn unescape_html(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&#x2B;", "+")
        .replace("&#43;", "+")
        .replace("&quot;", "\"")
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_page_with_hash_fragments() {
        let html = r#"<!DOCTYPE html><html><body>
            <a href="/packages/demo-1.0-py3-none-any.whl#sha256=ABCDEF">demo-1.0-py3-none-any.whl</a><br>
            <a data-requires-python="&gt;=3.9" href='../../packages/demo-1.0.tar.gz'>demo-1.0.tar.gz</a>
            <a href="/packages/demo%2Bx-1.0.zip#md5=00">demo+x-1.0.zip</a>
        </body></html>"#;
        let files = parse_html(
            html,
            &Url::parse("http://127.0.0.1:1/simple/demo/").unwrap(),
        );
        assert_eq!(
            files.sha256_of("demo-1.0-py3-none-any.whl"),
            Some(Some("abcdef"))
        );
        assert_eq!(files.sha256_of("demo-1.0.tar.gz"), Some(None));
        assert_eq!(files.sha256_of("demo+x-1.0.zip"), Some(None));
        assert_eq!(files.sha256_of("other.whl"), None);
    }

    #[test]
    fn a_release_exists_when_any_file_of_its_version_is_listed() {
        let files = ProjectFiles {
            files: [
                ("demo-1.0-py3-none-any.whl".to_owned(), None),
                ("demo-2.0rc1.tar.gz".to_owned(), None),
                ("demo-3.0.win32.exe".to_owned(), None),
            ]
            .into_iter()
            .collect(),
        };
        assert!(files.has_release("1.0"));
        assert!(files.has_release("1.0.0"), "PEP 440 equality");
        assert!(files.has_release("2.0.0rc1"));
        assert!(!files.has_release("1.1"));
        assert!(!files.has_release("3.0"), "not a dist name: passed over");
        assert!(!ProjectFiles::default().has_release("1.0"));
    }

    #[test]
    fn json_page() {
        let json = r#"{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"x","hashes":{"sha256":"AA"}}]}"#;
        assert_eq!(
            parse_json(json).unwrap().sha256_of("demo-1.0.tar.gz"),
            Some(Some("aa"))
        );
    }
}
