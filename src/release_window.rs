//! `PyPI`'s window for adding files to a release: Warehouse (`forklift/legacy.py`, "Uploading
//! new files to releases older than 14 days is not allowed") refuses every new file once the
//! release was created more than 14 days ago. Before anything is sent, the release's first
//! upload time is read from the index's JSON API (`/pypi/{name}/{version}/json`, served by
//! `PyPI` and `TestPyPI`); a 404 means no such release (or no JSON API) and the upload goes
//! ahead, as it does when the API cannot be read (with a notice).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::distribution::filename::normalize_name;

/// Warehouse's `MAXIMUM_AGE_FOR_NEW_UPLOADS_DAYS`.
pub const MAX_AGE_DAYS: u64 = 14;
const DAY: u64 = 24 * 60 * 60;
/// The whole lookup, connection to last byte.
const DEADLINE: Duration = Duration::from_secs(10);

/// New files would be refused: the release is too old.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} {version} was first uploaded to {index} on {first_upload} ({age_days} days ago), and PyPI accepts no new files for a release older than {MAX_AGE_DAYS} days, so {} would be refused; nothing was uploaded. Bump the version (a post-release such as {version}.post1 if the code is unchanged) and publish the new files as a new release",
    files.join(", ")
)]
pub struct ReleaseClosed {
    pub name: String,
    pub version: String,
    pub index: String,
    pub first_upload: String,
    pub age_days: u64,
    pub files: Vec<String>,
}

/// What the JSON API said about the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseAge {
    /// No such release (or no JSON API): files may be added.
    NotFound,
    /// The release exists without files, so its age is unknown.
    Unknown,
    /// The earliest upload time of its files, as seconds since the epoch and as written.
    FirstUpload(u64, String),
}

/// The JSON API URL of a release, next to the simple index: `https://pypi.org/simple/` ->
/// `https://pypi.org/pypi/{name}/{version}/json`.
pub fn json_url(check_url: &Url, name: &str, version: &str) -> anyhow::Result<Url> {
    let tail = format!("pypi/{}/{version}/json", normalize_name(name));
    if check_url.path().ends_with("/simple/") {
        Ok(check_url.join(&format!("../{tail}"))?)
    } else {
        Ok(check_url.join(&format!("/{tail}"))?)
    }
}

/// What the index's JSON API says about a release, read before it is known which files
/// will be sent (the lookup runs beside the simple-index lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// New files are accepted (or the index has no JSON API, or no such release).
    Open,
    /// Created more than 14 days ago: (first upload time as written, its age in days, host).
    Closed(String, u64, String),
    /// The API could not be read: why, and the URL.
    Unknown(String, String),
}

/// Read the release's first upload time from the index's JSON API, within a short deadline.
pub async fn lookup_window(
    client: &reqwest::Client,
    check_url: &Url,
    name: &str,
    version: &str,
) -> Window {
    let url = match json_url(check_url, name, version) {
        Ok(url) => url,
        Err(error) => {
            tracing::debug!("no JSON API URL for {check_url}: {error}");
            return Window::Open;
        }
    };
    let deadline = DEADLINE.min(crate::http::idle_timeout());
    let pypi = matches!(url.host_str(), Some("pypi.org" | "test.pypi.org"));
    let shown = crate::http::display_url(&url);
    let age = match tokio::time::timeout(deadline, lookup(client, &url)).await {
        Ok(Ok(age)) => age,
        Ok(Err(error)) if !pypi && error.is::<NotReleaseJson>() => {
            // Another kind of index answering that path with something else: no JSON API.
            tracing::debug!("{url}: {error:#}");
            return Window::Open;
        }
        Ok(Err(error)) => return Window::Unknown(format!("{error:#}"), shown),
        Err(_) => {
            return Window::Unknown(
                format!("no complete answer within {}s", deadline.as_secs_f64()),
                shown,
            );
        }
    };
    let ReleaseAge::FirstUpload(first, written) = age else {
        tracing::debug!("{name} {version}: {age:?} at {url}");
        return Window::Open;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let age = now.saturating_sub(first);
    if age <= MAX_AGE_DAYS * DAY {
        return Window::Open;
    }
    let host = url.host_str().unwrap_or("the index").to_owned();
    Window::Closed(written, age / DAY, host)
}

/// Stop before any upload ([`ReleaseClosed`]) when `PyPI` would refuse new files (`files`) for
/// this release; an unreadable API is a notice, never a failure.
pub fn refuse_if_closed(
    window: &Window,
    name: &str,
    version: &str,
    files: &[&str],
) -> anyhow::Result<()> {
    match window {
        Window::Open => Ok(()),
        Window::Unknown(why, url) => {
            crate::actions::Console::notice(
                "Release age unknown",
                &format!(
                    "could not read {url} ({why}), so the age of {name} {version} is unknown; PyPI and TestPyPI refuse new files for a release first published more than {MAX_AGE_DAYS} days ago"
                ),
            );
            Ok(())
        }
        Window::Closed(first_upload, age_days, index) => Err(ReleaseClosed {
            name: name.to_owned(),
            version: version.to_owned(),
            index: index.clone(),
            first_upload: first_upload.clone(),
            age_days: *age_days,
            files: files.iter().map(|file| (*file).to_owned()).collect(),
        }
        .into()),
    }
}

async fn lookup(client: &reqwest::Client, url: &Url) -> anyhow::Result<ReleaseAge> {
    let response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(reqwest::Error::without_url)?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(ReleaseAge::NotFound);
    }
    if !response.status().is_success() {
        anyhow::bail!("the index answered {}", response.status());
    }
    let body = crate::http::read_body(response, crate::http::BodyKind::ReleaseJson).await?;
    parse(&body)
}

#[derive(serde::Deserialize)]
struct Release {
    urls: Vec<ReleaseFile>,
}

#[derive(serde::Deserialize)]
struct ReleaseFile {
    upload_time_iso_8601: Option<String>,
    upload_time: Option<String>,
}

/// An answer that is not a release's JSON.
#[derive(Debug, thiserror::Error)]
#[error("not the JSON of a release ({0})")]
pub struct NotReleaseJson(String);

/// The earliest upload time in a release's JSON.
pub fn parse(body: &[u8]) -> anyhow::Result<ReleaseAge> {
    let release: Release =
        serde_json::from_slice(body).map_err(|error| NotReleaseJson(error.to_string()))?;
    let mut earliest: Option<(u64, String)> = None;
    for file in release.urls {
        let Some(written) = file.upload_time_iso_8601.or(file.upload_time) else {
            continue;
        };
        let seconds = epoch_seconds(&written)
            .ok_or_else(|| anyhow::anyhow!("unreadable upload time `{written}`"))?;
        if earliest.as_ref().is_none_or(|(first, _)| seconds < *first) {
            earliest = Some((seconds, written));
        }
    }
    Ok(earliest.map_or(ReleaseAge::Unknown, |(seconds, written)| {
        ReleaseAge::FirstUpload(seconds, written)
    }))
}

/// `YYYY-MM-DDTHH:MM:SS` with optional fraction and `Z` (UTC, as Warehouse writes it).
fn epoch_seconds(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let time = time.split('.').next()?;
    let numbers = |part: &str, count: usize| -> Option<Vec<u64>> {
        let values: Vec<u64> = part
            .split(if part.contains('-') { '-' } else { ':' })
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        (values.len() == count).then_some(values)
    };
    let [year, month, day] = numbers(date, 3)?[..] else {
        return None;
    };
    let [hour, minute, second] = numbers(time, 3)?[..] else {
        return None;
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), March-based years.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y % 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    Some(days * DAY + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_times_as_warehouse_writes_them() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            epoch_seconds("2024-02-29T12:30:15.123456Z"),
            Some(1_709_209_815)
        );
        assert_eq!(epoch_seconds("2026-11-30T10:00:00"), Some(1_796_032_800));
        assert_eq!(epoch_seconds("yesterday"), None);
    }

    #[test]
    fn the_earliest_file_dates_the_release() {
        let json = br#"{"info":{"name":"demo"},"urls":[
            {"filename":"b.whl","upload_time":"2024-03-02T00:00:00","upload_time_iso_8601":"2024-03-02T00:00:00.5Z"},
            {"filename":"a.tar.gz","upload_time":"2024-03-01T00:00:00"}]}"#;
        assert_eq!(
            parse(json).unwrap(),
            ReleaseAge::FirstUpload(1_709_251_200, "2024-03-01T00:00:00".to_owned())
        );
        assert_eq!(parse(br#"{"urls":[]}"#).unwrap(), ReleaseAge::Unknown);
        assert!(parse(b"<html>").is_err());
    }

    #[test]
    fn the_json_api_lives_beside_the_simple_index() {
        let url = |check: &str| {
            json_url(&Url::parse(check).unwrap(), "My_Pkg", "1.0")
                .unwrap()
                .to_string()
        };
        assert_eq!(
            url("https://pypi.org/simple/"),
            "https://pypi.org/pypi/my-pkg/1.0/json"
        );
        assert_eq!(
            url("https://test.pypi.org/simple/"),
            "https://test.pypi.org/pypi/my-pkg/1.0/json"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/index/simple/"),
            "http://127.0.0.1:8080/index/pypi/my-pkg/1.0/json"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/other/"),
            "http://127.0.0.1:8080/pypi/my-pkg/1.0/json"
        );
    }
}
