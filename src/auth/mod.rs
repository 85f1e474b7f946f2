//! Which credentials the upload uses (DESIGN §4): an API token/password, or a short-lived
//! token minted through Trusted Publishing.

pub mod oidc;
pub mod trusted_publishing;

use secrecy::SecretString;

use self::trusted_publishing::TrustedPublisher;
use crate::actions::Console;

/// Basic-auth credentials for the index. Its `Debug` shows neither the password nor a user
/// name other than `__token__` (an index may take a token as the user name).
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = if self.user == "__token__" {
            self.user.as_str()
        } else {
            "***"
        };
        formatter
            .debug_struct("Credentials")
            .field("user", &user)
            .field("password", &"***")
            .finish()
    }
}

/// The source of upload credentials.
#[derive(Debug)]
pub enum Authenticator {
    /// `password` given: used as is.
    Static(Credentials),
    /// Trusted Publishing: a `PyPI` token minted from the job's OIDC token, minted again when it
    /// is about to expire.
    TrustedPublishing(Box<TrustedPublisher>),
}

impl Authenticator {
    /// Credentials for the next request.
    pub async fn credentials(&self) -> anyhow::Result<Credentials> {
        match self {
            Self::Static(credentials) => Ok(credentials.clone()),
            Self::TrustedPublishing(publisher) => publisher.credentials().await,
        }
    }

    /// The index refused credentials used for a request sent at `sent_at`. With Trusted
    /// Publishing the token is minted again for the next request (`true`: worth one more
    /// try); a static token cannot be renewed (`false`).
    pub async fn renew(&self, sent_at: std::time::Instant) -> bool {
        match self {
            Self::Static(_) => false,
            Self::TrustedPublishing(publisher) => {
                publisher.invalidate(sent_at).await;
                true
            }
        }
    }

    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Static(credentials) => format!("password/token for user `{}`", credentials.user),
            Self::TrustedPublishing(_) => "Trusted Publishing (OIDC)".to_owned(),
        }
    }
}

impl Authenticator {
    /// Pick the credentials per DESIGN §4: a password means token mode (no OIDC call at all);
    /// none with user `__token__` means Trusted Publishing, whose first token is minted here so
    /// that every authentication problem shows before the first upload. `project` is the one
    /// errors speak of; `projects` all of this run's (each gets its publisher link).
    pub async fn select(
        settings: &crate::inputs::Settings,
        runner: &crate::actions::Runner,
        client: &reqwest::Client,
        project: &str,
        projects: &[&str],
    ) -> anyhow::Result<Self> {
        let from_url = crate::inputs::url_credentials(&settings.repository_url);
        if let Some(password) = &settings.password {
            crate::actions::mask(password);
            if settings.user != "__token__" && on_pypi(settings) {
                // PyPI has refused passwords since 2FA became mandatory (2024); say so before
                // anything is sent, as pypa/gh-action-pypi-publish does.
                anyhow::bail!(
                    "input `user` is `{}`: PyPI refuses uploads with a user name and password (two-factor authentication is mandatory since 2024). Use Trusted Publishing (remove `user` and `password`; add the publisher at {}) or an API token (`password: ${{{{ secrets.PYPI_API_TOKEN }}}}` with `user` left at `__token__`)",
                    settings.user,
                    publisher_links(settings, runner, projects).join(" ")
                );
            }
            if from_url.is_some() {
                Console::notice(
                    "Credentials in repository-url ignored",
                    "`password` is set, so the user name and password written into `repository-url` are not sent: a request carries one set of credentials, and `user`/`password` win. Remove them from the URL.",
                );
            }
            for advice in token_mode_advice(settings, runner, projects) {
                match advice {
                    Advice::Notice(title, text) => Console::notice(title, &text),
                    Advice::Warning(title, text) => Console::warning(title, &text),
                }
            }
            return Ok(Self::Static(Credentials {
                user: settings.user.clone(),
                password: password.clone(),
            }));
        }
        if let Some((user, password)) = from_url {
            return Ok(Self::Static(Credentials {
                user,
                password: crate::console::learned(password),
            }));
        }
        if settings.user != "__token__" {
            anyhow::bail!(
                "input `password` is empty but `user` is `{}`: give the password for that user, or leave `user` at `__token__` to use Trusted Publishing",
                settings.user
            );
        }
        let mut index_base = crate::http::without_user_info(&settings.repository_url);
        index_base.set_path("/");
        index_base.set_query(None);
        let publisher = TrustedPublisher::start(client, runner, index_base, project)
            .await
            .inspect_err(|error| error.report(runner))?;
        Console::line(&format!(
            "authenticated with Trusted Publishing: minted a short-lived token at {}",
            crate::http::display_url(&publisher.index_base)
        ));
        Ok(Self::TrustedPublishing(Box::new(publisher)))
    }
}

/// What the dry run learned about Trusted Publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The index exchanged the job's OIDC token for a `PyPI` token (discarded at once): the
    /// publisher is set up. The index's base URL and whom it accepted.
    Accepted(url::Url, oidc::Identity),
    /// The job has no OIDC token (no `id-token: write`, or not in Actions): nothing was asked.
    NoOidcToken,
}

/// The dry run's proof of Trusted Publishing, for a run that would use it: when the job can
/// get an OIDC token, exchange one at the index exactly as a real run does (the minted token
/// is masked the moment it arrives and dropped unused) and say whom the index accepted.
/// Without an OIDC token nothing is sent. A refusal is the real run's error, with its report.
pub async fn prove_trusted_publishing(
    settings: &crate::inputs::Settings,
    runner: &crate::actions::Runner,
    client: &reqwest::Client,
    project: &str,
) -> anyhow::Result<Proof> {
    if runner.id_token_request_url.is_none() || runner.id_token_request_token.is_none() {
        return Ok(Proof::NoOidcToken);
    }
    let mut index_base = crate::http::without_user_info(&settings.repository_url);
    index_base.set_path("/");
    index_base.set_query(None);
    let publisher = TrustedPublisher::start(client, runner, index_base.clone(), project)
        .await
        .inspect_err(|error| error.report(runner))?;
    let identity = publisher
        .identity()
        .unwrap_or_else(|| oidc::Identity::from_claims(&serde_json::Map::new()));
    // The minted token goes with it, never used.
    drop(publisher);
    Ok(Proof::Accepted(index_base, identity))
}

/// A line of advice for token mode.
#[derive(Debug, PartialEq, Eq)]
enum Advice {
    Notice(&'static str, String),
    Warning(&'static str, String),
}

/// Whether the upload goes to pypi.org or test.pypi.org.
#[must_use]
pub fn on_pypi(settings: &crate::inputs::Settings) -> bool {
    matches!(
        settings.repository_url.host_str(),
        Some("upload.pypi.org" | "pypi.org" | "test.pypi.org")
    )
}

/// The page that adds a Trusted Publisher for each project, prefilled (as pypa's action links
/// it) with this workflow: `?provider=github&owner=..&repository=..&workflow_filename=..`.
#[must_use]
pub fn publisher_links(
    settings: &crate::inputs::Settings,
    runner: &crate::actions::Runner,
    projects: &[&str],
) -> Vec<String> {
    let repository = runner.repository.as_deref().and_then(|r| r.split_once('/'));
    // `owner/repo/.github/workflows/publish.yml@refs/tags/v1` -> `publish.yml`
    let workflow = runner
        .workflow_ref
        .as_deref()
        .and_then(|r| r.split('@').next())
        .and_then(|path| path.rsplit('/').next())
        .filter(|name| !name.is_empty());
    projects
        .iter()
        .map(|project| {
            let page = trusted_publishing::settings_url_for(&settings.repository_url, project);
            let Some((owner, repo)) = repository else {
                return page;
            };
            let Ok(mut url) = url::Url::parse(&page) else {
                return page;
            };
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("provider", "github")
                    .append_pair("owner", owner)
                    .append_pair("repository", repo);
                if let Some(workflow) = workflow {
                    query.append_pair("workflow_filename", workflow);
                }
            }
            url.to_string()
        })
        .collect()
}

/// What to tell a user who publishes with a stored password or token.
fn token_mode_advice(
    settings: &crate::inputs::Settings,
    runner: &crate::actions::Runner,
    projects: &[&str],
) -> Vec<Advice> {
    use secrecy::ExposeSecret as _;
    let mut advice = Vec::new();
    let on_pypi = on_pypi(settings);
    let links = publisher_links(settings, runner, projects).join(" ");
    let names = projects
        .iter()
        .map(|project| format!("`{project}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let setup = if on_pypi {
        format!(" (add the publisher for {names} at {links})")
    } else {
        String::new()
    };
    if runner.id_token_request_url.is_some() && runner.id_token_request_token.is_some() {
        advice.push(Advice::Notice(
            "Token mode",
            format!(
                "`password` is set, so it is used and Trusted Publishing is not tried, although this job could get an OIDC token (`id-token: write`). To publish without a stored secret, set up Trusted Publishing{setup} and remove `password`."
            ),
        ));
    } else if on_pypi {
        advice.push(Advice::Notice(
            "Trusted Publishing is available",
            format!(
                "publishing with a stored API token. Trusted Publishing needs no secret at all: add a Trusted Publisher for {names} at {links} (prefilled with this workflow), grant the job `permissions: id-token: write` and remove `password`."
            ),
        ));
    }
    if let Some(password) = &settings.password {
        if settings.user == "__token__" && !password.expose_secret().trim().starts_with("pypi-") {
            advice.push(Advice::Warning(
                "Unexpected API token",
                "the `password` for user `__token__` does not start with `pypi-`, as PyPI API tokens do: check that the secret holds the whole token (copy it again from the index's account settings).".to_owned(),
            ));
        }
    }
    advice
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, password: &str) -> crate::inputs::Settings {
        let workspace = tempfile_dir();
        let mut raw = crate::inputs::RawInputs::default();
        raw.env
            .insert("INPUT_REPOSITORY-URL".to_owned(), url.to_owned());
        raw.env
            .insert("INPUT_PASSWORD".to_owned(), password.to_owned());
        raw.env
            .insert("INPUT_PACKAGES-DIR".to_owned(), ".".to_owned());
        crate::inputs::Settings::parse(&raw, &workspace).unwrap()
    }

    fn tempfile_dir() -> std::path::PathBuf {
        std::env::temp_dir()
    }

    fn runner(with_oidc: bool) -> crate::actions::Runner {
        let mut env = std::collections::BTreeMap::new();
        if with_oidc {
            env.insert(
                "ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
                "https://token.example/?api-version=2.0".to_owned(),
            );
            env.insert(
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(),
                "request-token".to_owned(),
            );
        }
        crate::actions::Runner::from_env(&env)
    }

    #[test]
    fn token_mode_on_pypi_suggests_trusted_publishing_for_the_project() {
        let advice = token_mode_advice(
            &settings("https://upload.pypi.org/legacy/", "pypi-AgEIcHlwaS5vcmc"),
            &runner(false),
            &["Demo_Pkg"],
        );
        assert_eq!(advice.len(), 1, "{advice:?}");
        let Advice::Notice(_, text) = &advice[0] else {
            panic!("{advice:?}")
        };
        assert!(
            text.contains("https://pypi.org/manage/project/demo-pkg/settings/publishing/"),
            "{text}"
        );
    }

    #[test]
    fn publisher_links_are_prefilled_with_this_workflow_per_project() {
        let mut env = std::collections::BTreeMap::new();
        env.insert("GITHUB_REPOSITORY".to_owned(), "octo-org/demo".to_owned());
        env.insert(
            "GITHUB_WORKFLOW_REF".to_owned(),
            "octo-org/demo/.github/workflows/publish-to-pypi.yml@refs/tags/v1.0".to_owned(),
        );
        let links = publisher_links(
            &settings("https://upload.pypi.org/legacy/", "pypi-x"),
            &crate::actions::Runner::from_env(&env),
            &["demo", "Demo_Stubs"],
        );
        assert_eq!(
            links,
            [
                "https://pypi.org/manage/project/demo/settings/publishing/?provider=github&owner=octo-org&repository=demo&workflow_filename=publish-to-pypi.yml",
                "https://pypi.org/manage/project/demo-stubs/settings/publishing/?provider=github&owner=octo-org&repository=demo&workflow_filename=publish-to-pypi.yml",
            ]
        );
    }

    #[test]
    fn a_token_without_the_pypi_prefix_is_warned_about() {
        let advice = token_mode_advice(
            &settings("https://test.pypi.org/legacy/", "AgEIcHlwaS5vcmc"),
            &runner(false),
            &["demo"],
        );
        assert!(
            advice.iter().any(
                |a| matches!(a, Advice::Warning(title, _) if *title == "Unexpected API token")
            ),
            "{advice:?}"
        );
    }

    #[test]
    fn credentials_debug_shows_no_credential() {
        for user in ["FURYUSERTOKEN0123", "__token__"] {
            let credentials = Credentials {
                user: user.to_owned(),
                password: SecretString::from("pypi-password-0123"),
            };
            let text = format!("{:?}", Authenticator::Static(credentials));
            assert!(
                !text.contains("FURYUSERTOKEN0123") && !text.contains("pypi-password-0123"),
                "{text}"
            );
            assert_eq!(text.contains("__token__"), user == "__token__", "{text}");
        }
    }

    #[test]
    fn both_a_password_and_an_oidc_token_means_token_mode_with_a_notice() {
        let advice = token_mode_advice(
            &settings("http://127.0.0.1:1/", "pypi-local"),
            &runner(true),
            &["demo"],
        );
        assert!(
            matches!(&advice[..], [Advice::Notice("Token mode", text)] if !text.contains("manage/project")),
            "{advice:?}"
        );
        // Another index, no OIDC: nothing to say.
        let advice = token_mode_advice(
            &settings("http://127.0.0.1:1/", "pypi-local"),
            &runner(false),
            &["demo"],
        );
        assert!(advice.is_empty(), "{advice:?}");
    }
}
