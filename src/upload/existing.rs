//! What the index already has: a file listed with the same sha256 is done, a different one is
//! an error (or a loud warning with `skip-existing`), asked once per project before the uploads
//! and again when the index refuses a file as existing.

use std::collections::{BTreeMap, BTreeSet};

use url::Url;

use super::error::upload_error;
use super::{FileReport, FileStates, FileStatus, UploadError, Uploader};
use crate::actions::Console;
use crate::distribution::Dist;
use crate::distribution::project::{self, Project};
use crate::http::HttpError;
use crate::index::{self, Lookup};

/// What the index's simple page says about one file.
enum OnIndex {
    /// Listed with a sha256: the status that follows.
    Listed(FileStatus),
    /// Not listed (or no project page).
    NotListed,
    /// Cannot tell: the page could not be read, or lists the file without a sha256.
    Unknown(String),
}

impl Uploader<'_> {
    /// The index says the name exists: same content is success, different content is an
    /// error (or a loud warning with `skip-existing`), unknown content is said to be unknown.
    pub(super) async fn resolve_existing(
        &self,
        dist: &Dist,
        url: &Url,
        error: &HttpError,
    ) -> Result<FileStatus, UploadError> {
        let why = match self.on_index(dist).await? {
            OnIndex::Listed(status) => return Ok(status),
            OnIndex::Unknown(why) => Some(why),
            OnIndex::NotListed => None,
        };
        if self.skip_existing {
            crate::actions::Console::warning(
                "File already exists",
                &format!(
                    "{}: the index refused it as already existing ({}) and its content could not be compared; skipped because skip-existing is on",
                    dist.file_name(),
                    error.message()
                ),
            );
            return Ok(FileStatus::SkippedDifferent);
        }
        if let Some(why) = why {
            return Err(upload_error(
                dist,
                url,
                format!(
                    "the index says the file exists ({} {}); its content could not be compared because {why}",
                    error.status.as_u16(),
                    error.message()
                ),
                Some(format!(
                    "check the file on the index (its sha256 must be {}), or set skip-existing: true to skip files that are already there",
                    dist.digests.sha256
                )),
            ));
        }
        Err(upload_error(
            dist,
            url,
            format!("{} {}", error.status.as_u16(), error.message()),
            Some("a file with this name is on the index with different content; file names can never be reused, so bump the version and rebuild".to_owned()),
        ))
    }

    /// Look the file up on the index. `Some` when it is listed with the same hash (or a
    /// different one with skip-existing); an error when listed with different content.
    pub async fn already_there(&self, dist: &Dist) -> Result<Option<FileStatus>, UploadError> {
        Ok(match self.on_index(dist).await? {
            OnIndex::Listed(status) => Some(status),
            OnIndex::NotListed | OnIndex::Unknown(_) => None,
        })
    }

    /// What the index's simple page says about this file.
    async fn on_index(&self, dist: &Dist) -> Result<OnIndex, UploadError> {
        let project = dist.metadata.name().unwrap_or(&dist.filename.name);
        let lookup = match index::lookup(self.client, &self.check_url, project).await {
            Ok(lookup) => lookup,
            Err(error) => {
                tracing::debug!(
                    "could not query the index for {}: {error:#}",
                    dist.file_name()
                );
                return Ok(OnIndex::Unknown(format!(
                    "the index could not be queried ({error:#})"
                )));
            }
        };
        let Lookup::Found(files) = lookup else {
            return Ok(OnIndex::NotListed);
        };
        match files.sha256_of(dist.file_name()) {
            None => Ok(OnIndex::NotListed),
            Some(None) => Ok(OnIndex::Unknown(format!(
                "the index at {} lists it without a sha256",
                crate::http::display_url(&self.check_url)
            ))),
            Some(Some(hash)) if hash == dist.digests.sha256 => {
                Ok(OnIndex::Listed(FileStatus::AlreadyOnIndex))
            }
            Some(Some(hash)) => self.different_content(dist, hash).map(OnIndex::Listed),
        }
    }

    /// A file of this name with a different sha256 is on the index.
    pub fn different_content(
        &self,
        dist: &Dist,
        index_sha256: &str,
    ) -> Result<FileStatus, UploadError> {
        let problem = format!(
            "a different file with this name is already on the index (index sha256 {index_sha256}, local sha256 {})",
            dist.digests.sha256
        );
        if self.skip_existing {
            crate::actions::Console::warning(
                "Different file already on the index",
                &format!(
                    "{}: {problem}; skipped because skip-existing is on",
                    dist.file_name()
                ),
            );
            return Ok(FileStatus::SkippedDifferent);
        }
        Err(upload_error(
            dist,
            &self.repository_url,
            problem,
            Some("file names can never be reused on an index: bump the version and rebuild (or set skip-existing: true to skip it with a warning)".to_owned()),
        ))
    }
}

/// Ask the index once which files it already has: identical ones are skipped, different ones
/// are an error (or a warning with skip-existing). Returns the dists still to upload, and the
/// projects (normalised names) whose release the index does not have yet (not listed, or
/// the index could not be asked): their first file goes alone.
pub async fn sort_out_existing<'d>(
    uploader: &Uploader<'_>,
    dists: &'d [Dist],
    projects: &[Project],
    report: &mut impl FileStates,
) -> anyhow::Result<(Vec<&'d Dist>, BTreeSet<String>)> {
    // One simple-index page per project.
    let mut lookups = BTreeMap::new();
    let mut new_releases = BTreeSet::new();
    for project in projects {
        let lookup = match index::lookup(uploader.client, &uploader.check_url, &project.name).await
        {
            Ok(lookup) => lookup,
            Err(error) => {
                Console::notice(
                    "Index lookup unavailable",
                    &format!(
                        "could not list the files of {} already on the index ({error:#}); the upload answers will decide",
                        project.name
                    ),
                );
                Lookup::NotFound
            }
        };
        let exists = matches!(&lookup, Lookup::Found(files) if files.has_release(&project.version));
        if !exists {
            new_releases.insert(project.normalized.clone());
        }
        lookups.insert(project.normalized.clone(), lookup);
    }
    let mut to_upload = Vec::new();
    let mut errors = Vec::new();
    for dist in dists {
        let lookup = lookups
            .get(&project::project_key(dist))
            .unwrap_or(&Lookup::NotFound);
        let listed = match lookup {
            Lookup::Found(files) => files.sha256_of(dist.file_name()).flatten(),
            Lookup::NotFound => None,
        };
        match listed {
            Some(hash) if hash == dist.digests.sha256 => {
                Console::line(&format!(
                    "{}: already on the index with the same sha256; skipped",
                    dist.file_name()
                ));
                report.set(
                    dist.file_name(),
                    FileReport::done(FileStatus::AlreadyOnIndex, 0),
                );
            }
            Some(hash) => match uploader.different_content(dist, hash) {
                Ok(status) => report.set(dist.file_name(), FileReport::done(status, 0)),
                Err(error) => {
                    report.set(dist.file_name(), FileReport::failed(&error.problem));
                    errors.push(error.to_string());
                }
            },
            None => to_upload.push(dist),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("nothing was uploaded: {}", errors.join("\n"));
    }
    Ok((to_upload, new_releases))
}
