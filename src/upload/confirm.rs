//! After the uploads, the index is read back: proof, not hope.

use crate::actions::Console;
use crate::distribution::Dist;
use crate::distribution::project::Project;
use crate::http;
use crate::index::{self, Lookup};

use super::Uploader;

/// What reading the index back after the uploads showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Every uploaded file is listed with our sha256.
    WithHashes,
    /// Every uploaded file is listed; these without any sha256 (the index publishes none).
    ByNameOnly(Vec<String>),
    /// These files were not (yet) listed with our sha256.
    Missing(Vec<String>),
}

impl Confirmation {
    /// The confirmations of several projects as one: files missing anywhere, else files
    /// confirmed by name only, else every file with its sha256. `None` (the index could not
    /// be queried, already warned about) counts only when no project was confirmed.
    #[must_use]
    pub fn combine(parts: Vec<Option<Self>>) -> Option<Self> {
        let parts: Vec<Self> = parts.into_iter().flatten().collect();
        let names = |wanted: fn(&Self) -> Option<&Vec<String>>| -> Vec<String> {
            parts.iter().filter_map(wanted).flatten().cloned().collect()
        };
        let missing = names(|part| match part {
            Self::Missing(names) => Some(names),
            _ => None,
        });
        if !missing.is_empty() {
            return Some(Self::Missing(missing));
        }
        let by_name = names(|part| match part {
            Self::ByNameOnly(names) => Some(names),
            _ => None,
        });
        if !by_name.is_empty() {
            return Some(Self::ByNameOnly(by_name));
        }
        (!parts.is_empty()).then_some(Self::WithHashes)
    }
}

/// After the uploads, read the files this run uploaded (`sent_names`) back from
/// the index: proof, not hope. A file that does not show up (a CDN can lag, a new project's
/// page can 404 for a while) is a warning naming it, not a failure. A file listed without a
/// sha256 is confirmed by name only, and said so.
pub async fn confirm_uploads(
    uploader: &Uploader<'_>,
    dists: &[Dist],
    projects: &[Project],
    sent_names: &[String],
) -> Option<Confirmation> {
    let mut confirmations = Vec::new();
    for project in projects {
        let sent: Vec<&Dist> = dists
            .iter()
            .filter(|dist| project.owns(dist))
            .filter(|dist| sent_names.iter().any(|name| name == dist.file_name()))
            .collect();
        if !sent.is_empty() {
            confirmations.push(confirm_project(uploader, &project.name, &sent).await);
        }
    }
    Confirmation::combine(confirmations)
}

/// [`confirm_uploads`] for the files of one project.
async fn confirm_project(
    uploader: &Uploader<'_>,
    project: &str,
    dists: &[&Dist],
) -> Option<Confirmation> {
    let check_url = http::display_url(&uploader.check_url);
    let policy = http::RetryPolicy::from_env();
    let attempts = 4;
    let mut missing: Vec<&str> = Vec::new();
    let mut last_error = None;
    for attempt in 1..=attempts {
        let files = match index::lookup(uploader.client, &uploader.check_url, project).await {
            Ok(Lookup::Found(files)) => Some(files),
            Ok(Lookup::NotFound) => None,
            Err(error) => {
                last_error = Some(format!("{error:#}"));
                // An index too slow to answer in time once will not be faster now.
                if index::is_timeout(&error) {
                    break;
                }
                if attempt < attempts {
                    tokio::time::sleep(policy.delay(attempt, None)).await;
                }
                continue;
            }
        };
        last_error = None;
        let listed = |dist: &Dist| {
            files
                .as_ref()
                .and_then(|files| files.sha256_of(dist.file_name()))
        };
        missing = dists
            .iter()
            .filter(|dist| match listed(dist) {
                None => true,
                Some(Some(hash)) => hash != dist.digests.sha256,
                Some(None) => false,
            })
            .map(|dist| dist.file_name())
            .collect();
        if missing.is_empty() {
            let by_name: Vec<&str> = dists
                .iter()
                .filter(|dist| matches!(listed(dist), Some(None)))
                .map(|dist| dist.file_name())
                .collect();
            if by_name.is_empty() {
                Console::line(&format!(
                    "confirmed: the index at {check_url} lists every file with its sha256"
                ));
            } else {
                for name in &by_name {
                    Console::line(&format!(
                        "{name}: listed, but the index publishes no sha256 (confirmed by name only)"
                    ));
                }
                Console::line(&format!(
                    "confirmed: the index at {check_url} lists every uploaded file"
                ));
            }
            return Some(if by_name.is_empty() {
                Confirmation::WithHashes
            } else {
                Confirmation::ByNameOnly(by_name.iter().map(|name| (*name).to_owned()).collect())
            });
        }
        if attempt < attempts {
            tokio::time::sleep(policy.delay(attempt, None)).await;
        }
    }
    if let Some(error) = last_error {
        Console::warning(
            "Could not confirm",
            &format!(
                "the index at {check_url} could not be queried to confirm the uploads ({error})"
            ),
        );
        return None;
    }
    Console::warning(
        "Not yet visible on the index",
        &format!(
            "{} not (yet) listed at {check_url} with the expected sha256; the index may be lagging behind its cache",
            missing.join(", ")
        ),
    );
    Some(Confirmation::Missing(
        missing.iter().map(|name| (*name).to_owned()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::Confirmation;

    #[test]
    fn confirmations_of_several_projects_combine_to_the_worst() {
        let names = |list: &[&str]| list.iter().map(|name| (*name).to_owned()).collect();
        assert_eq!(
            Confirmation::combine(vec![
                Some(Confirmation::WithHashes),
                Some(Confirmation::ByNameOnly(names(&["b.whl"]))),
                Some(Confirmation::Missing(names(&["c.whl"]))),
                Some(Confirmation::Missing(names(&["d.tar.gz"]))),
            ]),
            Some(Confirmation::Missing(names(&["c.whl", "d.tar.gz"])))
        );
        assert_eq!(
            Confirmation::combine(vec![
                None,
                Some(Confirmation::WithHashes),
                Some(Confirmation::ByNameOnly(names(&["b.whl"]))),
            ]),
            Some(Confirmation::ByNameOnly(names(&["b.whl"])))
        );
        assert_eq!(
            Confirmation::combine(vec![None, Some(Confirmation::WithHashes)]),
            Some(Confirmation::WithHashes)
        );
        assert_eq!(Confirmation::combine(vec![None, None]), None);
    }
}
