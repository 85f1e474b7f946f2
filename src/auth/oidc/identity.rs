//! Who the index accepted as publisher: the repository, workflow and environment claims of the
//! OIDC token it exchanged for a `PyPI` token. The dry run reports it as proof that Trusted
//! Publishing is set up (the claims are what the index matched against its publisher).

use std::fmt;

/// The claims a `PyPI` Trusted Publisher is matched on (Warehouse `oidc/models/github.py`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `repository`: `owner/name`.
    pub repository: String,
    /// `job_workflow_ref` (what the index checks the workflow file against), else
    /// `workflow_ref`: `owner/name/.github/workflows/file.yml@ref`.
    pub workflow_ref: String,
    /// `environment`, when the job runs in one.
    pub environment: Option<String>,
}

impl Identity {
    /// From the token's claims (decoded for display: the index verified the signature).
    #[must_use]
    pub fn from_claims(claims: &serde_json::Map<String, serde_json::Value>) -> Self {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        Self {
            repository: text("repository").unwrap_or_else(|| "(not in the token)".to_owned()),
            workflow_ref: text("job_workflow_ref")
                .or_else(|| text("workflow_ref"))
                .unwrap_or_else(|| "(not in the token)".to_owned()),
            environment: text("environment"),
        }
    }

    /// The workflow file's name (`release.yml`), as the publisher form on the index asks it.
    #[must_use]
    pub fn workflow_file(&self) -> &str {
        let path = self.workflow_ref.split('@').next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or(path)
    }
}

impl fmt::Display for Identity {
    /// `repository octo-org/demo, workflow release.yml (octo-org/demo/.github/workflows/
    /// release.yml@refs/tags/v1), environment pypi`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "repository {}, workflow {} ({}), ",
            self.repository,
            self.workflow_file(),
            self.workflow_ref
        )?;
        match &self.environment {
            Some(environment) => write!(formatter, "environment {environment}"),
            None => formatter.write_str("no environment"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publisher_fields_come_from_the_claims() {
        let claims = serde_json::json!({
            "repository": "octo-org/demo",
            "workflow_ref": "octo-org/demo/.github/workflows/ci.yml@refs/tags/v1",
            "job_workflow_ref": "octo-org/demo/.github/workflows/release.yml@refs/tags/v1",
            "environment": "pypi",
        });
        let identity = Identity::from_claims(claims.as_object().unwrap());
        assert_eq!(identity.workflow_file(), "release.yml");
        assert_eq!(
            identity.to_string(),
            "repository octo-org/demo, workflow release.yml (octo-org/demo/.github/workflows/release.yml@refs/tags/v1), environment pypi"
        );
        let claims = serde_json::json!({
            "repository": "octo-org/demo",
            "workflow_ref": "octo-org/demo/.github/workflows/ci.yml@refs/heads/main",
        });
        let identity = Identity::from_claims(claims.as_object().unwrap());
        assert!(
            identity.to_string().ends_with("no environment"),
            "{identity}"
        );
        assert_eq!(identity.workflow_file(), "ci.yml");
    }
}
