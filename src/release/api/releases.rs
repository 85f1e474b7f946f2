//! The release endpoints: look up (by tag; drafts by listing, following `Link` pages), create,
//! update, delete, generated notes, the tag's existence, and the assets' listing and deletion.

use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::{ApiError, Asset, AssetId, GeneratedNotes, GitHub, Release, ReleaseId};

/// At most this many pages of 100 are read from a listing.
const MAX_PAGES: usize = 50;

impl GitHub<'_> {
    /// The published release of a tag (`None` on 404: drafts are not visible here).
    pub async fn release_by_tag(&self, tag: &str) -> Result<Option<Release>, ApiError> {
        let url = self.url(&["releases", "tags", tag]);
        match Self::found(self.send(&Method::GET, &url, None, true).await)? {
            Some(response) => Ok(Some(Self::json(response).await?)),
            None => Ok(None),
        }
    }

    /// The draft releases of a tag, oldest first, following the `Link` header (drafts come
    /// first in GitHub's newest-first listing, so paging stops at the first page that has one).
    pub async fn drafts_for(&self, tag: &str) -> Result<Vec<Release>, ApiError> {
        let mut url = self.url(&["releases"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        let matches = |release: &Release| release.draft && release.tag_name == tag;
        // Only the matching drafts are kept from each page: a new tag pages through every
        // release of the repository (up to MAX_PAGES), which is not held in memory.
        let mut drafts: Vec<Release> = self.paginate(url, matches, matches).await?;
        drafts.sort_by_key(|release| release.id);
        Ok(drafts)
    }

    /// Every asset of a release.
    pub async fn assets(&self, release: ReleaseId) -> Result<Vec<Asset>, ApiError> {
        let mut url = self.url(&["releases", &release.to_string(), "assets"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        self.paginate(url, |_: &Asset| true, |_: &Asset| false)
            .await
    }

    /// Delete a release (a 404 means it is gone already).
    pub async fn delete_release(&self, id: ReleaseId) -> Result<(), ApiError> {
        let url = self.url(&["releases", &id.to_string()]);
        Self::found(self.send(&Method::DELETE, &url, None, true).await).map(drop)
    }

    /// The items of every page that satisfy `keep`, following `Link: rel="next"` until the
    /// last page, or until a page has an item that satisfies `enough`.
    async fn paginate<T: DeserializeOwned>(
        &self,
        first: Url,
        keep: impl Fn(&T) -> bool,
        enough: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            let response = self.send(&Method::GET, &url, None, true).await?;
            let link = response
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|value| value.to_str().ok())
                .and_then(next_link);
            let page: Vec<T> = Self::json(response).await?;
            let done = page.iter().any(&enough);
            items.extend(page.into_iter().filter(&keep));
            if done {
                break;
            }
            // The token goes only to the API's own origin.
            next = link
                .and_then(|link| Url::parse(&link).ok())
                .filter(|link| link.origin() == self.api.origin())
                .filter(|_| pages < MAX_PAGES);
        }
        Ok(items)
    }

    /// Create a release. Not retried here: after an ambiguous failure the caller looks the
    /// release up before trying again.
    pub async fn create_release(&self, body: &serde_json::Value) -> Result<Release, ApiError> {
        let url = self.url(&["releases"]);
        let response = self.send(&Method::POST, &url, Some(body), false).await?;
        Self::json(response).await
    }

    pub async fn update_release(
        &self,
        id: ReleaseId,
        body: &serde_json::Value,
    ) -> Result<Release, ApiError> {
        let url = self.url(&["releases", &id.to_string()]);
        let response = self.send(&Method::PATCH, &url, Some(body), true).await?;
        Self::json(response).await
    }

    /// GitHub's generated notes (nothing is saved, so a retry is harmless).
    pub async fn generate_notes(
        &self,
        body: &serde_json::Value,
    ) -> Result<GeneratedNotes, ApiError> {
        let url = self.url(&["releases", "generate-notes"]);
        let response = self.send(&Method::POST, &url, Some(body), true).await?;
        Self::json(response).await
    }

    /// Whether the tag exists in the repository.
    pub async fn tag_exists(&self, tag: &str) -> Result<bool, ApiError> {
        let url = self.url(&["git", "ref", "tags", tag]);
        Ok(Self::found(self.send(&Method::GET, &url, None, true).await)?.is_some())
    }

    /// Delete an asset (a 404 means it is gone already).
    pub async fn delete_asset(&self, id: AssetId) -> Result<(), ApiError> {
        let url = self.url(&["releases", "assets", &id.to_string()]);
        Self::found(self.send(&Method::DELETE, &url, None, true).await).map(drop)
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, parameters) = part.split_once(';')?;
        parameters
            .split(';')
            .any(|parameter| {
                let parameter = parameter.trim().replace(' ', "");
                parameter == "rel=\"next\"" || parameter == "rel=next"
            })
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let header = r#"<https://api.github.com/repositories/1/releases?page=1>; rel="prev", <https://api.github.com/repositories/1/releases?page=3>; rel="next", <https://api.github.com/repositories/1/releases?page=9>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/releases?page=3")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }
}
