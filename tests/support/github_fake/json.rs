//! The JSON GitHub answers with: releases, assets, users (the fields the `OpenAPI`
//! description requires).

use serde_json::{Value, json};

use super::{Config, FakeAsset, FakeRelease, State};

fn user(base: &str) -> Value {
    json!({
        "login": "github-actions[bot]", "id": 41_898_282, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": format!("{base}/avatar"), "gravatar_id": "", "url": format!("{base}/users/bot"),
        "html_url": format!("{base}/apps/github-actions"), "followers_url": format!("{base}/f"),
        "following_url": format!("{base}/g"), "gists_url": format!("{base}/h"),
        "starred_url": format!("{base}/i"), "subscriptions_url": format!("{base}/j"),
        "organizations_url": format!("{base}/k"), "repos_url": format!("{base}/l"),
        "events_url": format!("{base}/m"), "received_events_url": format!("{base}/n"),
        "type": "Bot", "site_admin": false,
    })
}

pub(super) fn asset_json(state: &State, config: &Config, base: &str, asset: &FakeAsset) -> Value {
    json!({
        "url": format!("{base}{}/repos/{}/releases/assets/{}", config.api_prefix, state.owner_repo, asset.id),
        "browser_download_url": format!("{base}/download/{}/{}", asset.id, asset.name),
        "id": asset.id,
        "node_id": format!("RA_{}", asset.id),
        "name": asset.name,
        "label": null,
        "state": asset.state,
        "content_type": asset.content_type,
        "size": asset.data.len(),
        "digest": if state.digests { json!(format!("sha256:{}", asset.sha256())) } else { Value::Null },
        "download_count": 0,
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-20T10:00:00Z",
        "uploader": user(base),
    })
}

pub(super) fn release_json(
    state: &State,
    config: &Config,
    base: &str,
    release: &FakeRelease,
) -> Value {
    let api = format!("{base}{}/repos/{}", config.api_prefix, state.owner_repo);
    let assets: Vec<Value> = release
        .assets
        .iter()
        .map(|a| asset_json(state, config, base, a))
        .collect();
    json!({
        "url": format!("{api}/releases/{}", release.id),
        "html_url": format!("https://github.com/{}/releases/tag/{}", state.owner_repo, release.tag_name),
        "assets_url": format!("{api}/releases/{}/assets", release.id),
        "upload_url": format!("{base}{}/repos/{}/releases/{}/assets{{?name,label}}", config.uploads_prefix, state.owner_repo, release.id),
        "tarball_url": format!("{api}/tarball/{}", release.tag_name),
        "zipball_url": format!("{api}/zipball/{}", release.tag_name),
        "id": release.id,
        "node_id": format!("RE_{}", release.id),
        "tag_name": release.tag_name,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "body": release.body,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "immutable": state.immutable,
        "created_at": "2026-11-20T10:00:00Z",
        "published_at": if release.draft { Value::Null } else { json!("2026-11-20T10:05:00Z") },
        "author": user(base),
        "assets": assets,
    })
}
