//! The index's web pages for Trusted Publishing: where a project's publishers are managed
//! (`upload.pypi.org` uploads are managed on `pypi.org`), named in errors and notices.

use url::Url;

use crate::http;

/// The web host of an index: `upload.pypi.org` uploads are managed on `pypi.org`.
pub(super) fn index_web_base(index_base: &Url) -> Url {
    let mut web = http::without_user_info(index_base);
    if web.host_str() == Some("upload.pypi.org") {
        let _ = web.set_host(Some("pypi.org"));
    }
    web.set_path("/");
    web.set_query(None);
    web
}

pub(super) fn index_name(index_base: &Url) -> String {
    let mut name = index_base.host_str().unwrap_or("the index").to_owned();
    if let Some(port) = index_base.port() {
        name.push_str(&format!(":{port}"));
    }
    name
}

/// Where a project's Trusted Publishers are managed (Warehouse's path).
#[must_use]
pub fn publisher_settings_url(web: &Url, project: &str) -> String {
    format!(
        "{web}manage/project/{}/settings/publishing/",
        crate::distribution::filename::normalize_name(project)
    )
}

/// The Trusted Publishing settings page for a project on the index of `repository_url`
/// (for notices in token mode).
#[must_use]
pub fn settings_url_for(repository_url: &Url, project: &str) -> String {
    publisher_settings_url(&index_web_base(repository_url), project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_page_is_on_the_web_host() {
        let pypi = Url::parse("https://upload.pypi.org/legacy/").unwrap();
        assert_eq!(
            settings_url_for(&pypi, "Oidc_Publish.Demo"),
            "https://pypi.org/manage/project/oidc-publish-demo/settings/publishing/"
        );
        let test = Url::parse("https://test.pypi.org/legacy/").unwrap();
        assert_eq!(
            settings_url_for(&test, "demo"),
            "https://test.pypi.org/manage/project/demo/settings/publishing/"
        );
    }
}
