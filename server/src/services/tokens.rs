//! Issuing tokens for a role and organisation (CLI and demo).

use std::time::Duration;

use super::Portal;
use crate::auth::Role;
use crate::domain::organisation::{OrganisationKind, Slug};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("no organisation with slug {0:?}")]
    UnknownOrganisation(String),
    #[error("a {role} token cannot belong to {org:?}, a {kind} organisation")]
    WrongKind {
        role: Role,
        org: String,
        kind: OrganisationKind,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl Portal {
    /// Issues a token. `org` may be omitted for admin and staff, who then
    /// belong to the (single) manufacturer.
    pub async fn issue_token(
        &self,
        role: Role,
        org: Option<&str>,
        subject: Option<&str>,
        ttl: Duration,
    ) -> Result<String, IssueError> {
        let organisation = match org {
            Some(slug) => {
                let slug = Slug::parse(slug).map_err(IssueError::InvalidInput)?;
                self.store
                    .organisation_by_slug(slug.as_str())
                    .await?
                    .ok_or_else(|| IssueError::UnknownOrganisation(slug.to_string()))?
            }
            None if role.is_manufacturer() => {
                let mut found = self
                    .store
                    .organisations_of_kind(OrganisationKind::Manufacturer)
                    .await?;
                match found.len() {
                    1 => found.remove(0),
                    0 => {
                        return Err(IssueError::InvalidInput(
                            "no manufacturer organisation exists yet; pass --org".into(),
                        ));
                    }
                    _ => {
                        return Err(IssueError::InvalidInput(
                            "several manufacturer organisations exist; pass --org".into(),
                        ));
                    }
                }
            }
            None => {
                return Err(IssueError::InvalidInput(format!(
                    "a {role} token needs --org"
                )));
            }
        };
        if !role
            .organisation_kinds()
            .contains(&organisation.kind.as_str())
        {
            return Err(IssueError::WrongKind {
                role,
                org: organisation.slug.to_string(),
                kind: organisation.kind,
            });
        }
        if ttl.is_zero() {
            return Err(IssueError::InvalidInput(
                "the lifetime must be positive".into(),
            ));
        }
        let max = self.settings().max_token_lifetime;
        if ttl > max {
            return Err(IssueError::InvalidInput(format!(
                "a token lives at most {} (max_token_lifetime)",
                humantime::format_duration(max)
            )));
        }
        let subject = subject
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{role}@{}", organisation.slug));
        Ok(self
            .keys()
            .tokens
            .issue(&subject, role, organisation.slug.as_str(), ttl)?)
    }
}
