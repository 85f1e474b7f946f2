//! The fake's stateful operations: pages with `Link`, create, update (publish), upload.

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::json::{asset_json, release_json};
use super::{Answer, Config, FakeRelease, State, not_found, query_value, validation_failed};

pub(super) fn page(state: &State, items: &[Value], query: &str, url: &str) -> Answer {
    let per_page: usize = query_value(query, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .min(state.page_size)
        .max(1);
    let number: usize = query_value(query, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let start = (number - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let mut answer = Answer::json(200, Value::Array(slice));
    if start + per_page < items.len() {
        answer.headers.push((
            "link",
            format!(
                "<{url}?per_page={per_page}&page={}>; rel=\"next\", <{url}?per_page={per_page}&page={}>; rel=\"last\"",
                number + 1,
                items.len().div_ceil(per_page)
            ),
        ));
    }
    answer
}

pub(super) fn create(
    state: &mut State,
    config: &Config,
    base: &str,
    request: Option<&Value>,
) -> Answer {
    let Some(request) = request else {
        return Answer::json(
            400,
            json!({"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/rest"}),
        );
    };
    let tag = request["tag_name"].as_str().unwrap_or("").to_owned();
    if state.race_on_create {
        state.race_on_create = false;
        state.add_release(
            &tag,
            false,
            Some(&tag),
            Some("Notes by the job that won the race"),
        );
        return validation_failed("Release", "tag_name");
    }
    if state.releases.iter().any(|r| r.tag_name == tag && !r.draft) {
        return validation_failed("Release", "tag_name");
    }
    let id = state.id();
    let draft = request["draft"].as_bool().unwrap_or(false);
    let release = FakeRelease {
        id,
        tag_name: tag.clone(),
        target_commitish: request["target_commitish"]
            .as_str()
            .unwrap_or("main")
            .to_owned(),
        name: request["name"].as_str().map(str::to_owned),
        body: request["body"].as_str().map(str::to_owned),
        draft,
        prerelease: request["prerelease"].as_bool().unwrap_or(false),
        make_latest: request["make_latest"].as_str().map(str::to_owned),
        assets: Vec::new(),
    };
    if !draft {
        state.tags.insert(tag);
    }
    state.releases.push(release.clone());
    if state.lose_create_answers > 0 {
        state.lose_create_answers -= 1;
        return Answer::json(502, json!({"message": "Bad Gateway"}));
    }
    Answer::json(201, release_json(state, config, base, &release))
}

pub(super) fn update(
    state: &mut State,
    config: &Config,
    base: &str,
    id: u64,
    request: Option<&Value>,
) -> Answer {
    let request = request.cloned().unwrap_or(Value::Null);
    let publishing = request["draft"].as_bool() == Some(false);
    let Some(index) = state.releases.iter().position(|r| r.id == id) else {
        return not_found();
    };
    if publishing && state.releases[index].draft && state.fail_publish > 0 {
        state.fail_publish -= 1;
        return Answer::json(500, json!({"message": "Server Error"}));
    }
    if publishing && state.releases[index].draft {
        let tag = state.releases[index].tag_name.clone();
        if state.race_on_publish {
            state.race_on_publish = false;
            state.add_release(
                &tag,
                false,
                Some(&tag),
                Some("Notes by the job that published first"),
            );
        }
        if state.releases.iter().any(|r| r.tag_name == tag && !r.draft) {
            return validation_failed("Release", "tag_name");
        }
    }
    let release = &mut state.releases[index];
    if let Some(body) = request["body"].as_str() {
        release.body = Some(body.to_owned());
    }
    if let Some(name) = request["name"].as_str() {
        release.name = Some(name.to_owned());
    }
    if let Some(draft) = request["draft"].as_bool() {
        release.draft = draft;
    }
    if let Some(prerelease) = request["prerelease"].as_bool() {
        release.prerelease = prerelease;
    }
    if let Some(latest) = request["make_latest"].as_str() {
        release.make_latest = Some(latest.to_owned());
    }
    let release = release.clone();
    if !release.draft {
        state.tags.insert(release.tag_name.clone());
    }
    Answer::json(200, release_json(state, config, base, &release))
}

pub(super) fn upload(
    state: &mut State,
    config: &Config,
    id: u64,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let Some(name) = query_value(query, "name") else {
        return Answer::json(400, json!({"message": "name is required"}));
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let length: Option<usize> = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if content_type.is_empty()
        || length != Some(body.len())
        || headers.contains_key("transfer-encoding")
    {
        return Answer::json(
            400,
            json!({"message": format!("Content-Type and Content-Length are required (got {content_type:?}, {length:?}, {} bytes)", body.len())}),
        );
    }
    let Some(index) = state.releases.iter().position(|r| r.id == id) else {
        return not_found();
    };
    if state.immutable && !state.releases[index].draft {
        return Answer::json(
            422,
            json!({"message": "Cannot upload assets to an immutable release.", "documentation_url": "https://docs.github.com/rest/releases/assets#upload-a-release-asset"}),
        );
    }
    if state.releases[index].assets.iter().any(|a| a.name == name) {
        return validation_failed("ReleaseAsset", "name");
    }
    if state.peer_uploads > 0 {
        state.peer_uploads -= 1;
        let asset_id = state.add_asset(id, &name, body, "open");
        let at = std::time::Instant::now() + state.peer_upload_takes;
        state.finish_later(asset_id, at);
        return validation_failed("ReleaseAsset", "name");
    }
    if state.fail_uploads > 0 {
        state.fail_uploads -= 1;
        state.add_asset(id, &name, &body[..body.len() / 2], "open");
        return Answer::json(502, json!({"message": "Bad Gateway"}));
    }
    let stored: Vec<u8> = if state.corrupt_uploads > 0 {
        state.corrupt_uploads -= 1;
        body.iter().map(|byte| byte ^ 0xff).collect()
    } else {
        body.to_vec()
    };
    let asset_id = state.add_asset(id, &name, &stored, "uploaded");
    let asset = state.releases[index]
        .assets
        .iter()
        .find(|a| a.id == asset_id)
        .unwrap()
        .clone();
    let base = format!("http://127.0.0.1:{}", config.port);
    Answer::json(201, asset_json(state, config, &base, &asset))
}
