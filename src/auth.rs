//! Which credentials the upload uses (DESIGN §4): an API token/password, or a short-lived
//! token minted through Trusted Publishing.

use secrecy::SecretString;

/// Basic-auth credentials for the index.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: SecretString,
}

/// The source of upload credentials.
#[derive(Debug)]
pub enum Authenticator {
    /// `password` given: used as is.
    Static(Credentials),
    /// Trusted Publishing: a `PyPI` token minted from the job's OIDC token, minted again when it
    /// is about to expire.
    TrustedPublishing(Box<crate::oidc::TrustedPublisher>),
}

impl Authenticator {
    /// Credentials for the next request.
    pub async fn credentials(&self) -> anyhow::Result<Credentials> {
        match self {
            Self::Static(credentials) => Ok(credentials.clone()),
            Self::TrustedPublishing(publisher) => publisher.credentials().await,
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
    /// none with user `__token__` means Trusted Publishing.
    #[expect(
        clippy::unused_async,
        reason = "Trusted Publishing asks the index for its audience here"
    )]
    pub async fn select(
        settings: &crate::inputs::Settings,
        runner: &crate::actions::Runner,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        if let Some(password) = &settings.password {
            crate::actions::mask(password);
            return Ok(Self::Static(Credentials {
                user: settings.user.clone(),
                password: password.clone(),
            }));
        }
        if settings.user != "__token__" {
            anyhow::bail!(
                "input `password` is empty but `user` is `{}`: give the password for that user, or leave `user` at `__token__` to use Trusted Publishing",
                settings.user
            );
        }
        let mut index_base = settings.repository_url.clone();
        index_base.set_path("/");
        index_base.set_query(None);
        Ok(Self::TrustedPublishing(Box::new(
            crate::oidc::TrustedPublisher {
                client: client.clone(),
                index_base,
                runner: runner.clone(),
            },
        )))
    }
}
