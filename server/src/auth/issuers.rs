//! External token issuers: a company's identity provider, configured by
//! issuer URL, audience, a JWKS file or URL, and which claims carry the
//! role and organisation. Keys are read from the file at start, or fetched
//! from the URL (reqwest over rustls) on first use, again whenever the
//! cached set is older than `refetch_after` (default 30 s, at least 1 s)
//! before a token is checked against it, so that a key the issuer removed
//! stops being accepted within `refetch_after` — and when a token names a
//! `kid` the cached set lacks, still at most once per `refetch_after`. Each
//! key's algorithm is pinned by the key itself.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::token::{LEEWAY_SECONDS, Principal, Role, TokenError};

/// Default of [`IssuerConfig::refetch_after`]: the JWKS URL is fetched
/// again for an unknown `kid` at most this often.
pub const REFETCH_AFTER: &str = "30s";
/// The shortest `refetch_after`: no issuer's JWKS is fetched more than
/// once a second, whatever tokens arrive.
pub const MIN_REFETCH_AFTER: Duration = Duration::from_secs(1);

/// One `[[issuers]]` table of the settings file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` its tokens must carry.
    pub audience: String,
    /// A JWKS document on disk …
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// … or at a URL.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The claim holding the role (default `role`).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// The claim holding the organisation's slug (default `org`).
    #[serde(default = "default_org_claim")]
    pub org_claim: String,
    /// The issuer's role values → the portal's role names. When given, only
    /// these values are accepted; without it the value must be a portal
    /// role name itself.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// The organisations (slugs) this issuer may speak for; required, so
    /// that one company's identity provider cannot assert another's
    /// organisation (or the manufacturer's).
    pub organisations: Vec<String>,
    /// Refetch the JWKS URL for an unknown `kid` at most this often
    /// (default `30s`).
    #[serde(default)]
    pub refetch_after: Option<String>,
}

fn default_role_claim() -> String {
    "role".into()
}

fn default_org_claim() -> String {
    "org".into()
}

type KeySet = HashMap<String, (DecodingKey, Algorithm)>;

/// A configured issuer and its cached keys.
pub struct ExternalIssuer {
    pub config: IssuerConfig,
    refetch_after: Duration,
    keys: RwLock<Arc<KeySet>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// The longest a token may still live when it is presented, and (with
    /// `iat`) its whole lifetime: the portal's `max_token_lifetime`.
    max_lifetime: u64,
    client: reqwest::Client,
}

impl std::fmt::Debug for ExternalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalIssuer")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

/// The algorithm a JWK is pinned to: its `alg`, else what its key type
/// implies. Symmetric keys are never accepted from a JWKS.
fn pinned_algorithm(raw: &Value) -> Option<Algorithm> {
    let alg = match raw.get("alg").and_then(Value::as_str) {
        Some(a) => Algorithm::from_str(a).ok()?,
        None => match (
            raw.get("kty").and_then(Value::as_str),
            raw.get("crv").and_then(Value::as_str),
        ) {
            (Some("OKP"), Some("Ed25519")) => Algorithm::EdDSA,
            (Some("EC"), Some("P-256")) => Algorithm::ES256,
            (Some("EC"), Some("P-384")) => Algorithm::ES384,
            (Some("RSA"), _) => Algorithm::RS256,
            _ => return None,
        },
    };
    (!matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)).then_some(alg)
}

/// Parses a JWKS document into usable keys by `kid`; keys without a `kid`,
/// of an unknown type, or symmetric are skipped.
pub fn parse_jwks(text: &str) -> anyhow::Result<KeySet> {
    let doc: Value = serde_json::from_str(text)?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow::anyhow!("a JWKS document has a \"keys\" array"))?;
    let mut out = HashMap::new();
    for raw in keys {
        let Some(kid) = raw.get("kid").and_then(Value::as_str) else {
            continue;
        };
        let Some(alg) = pinned_algorithm(raw) else {
            continue;
        };
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        out.insert(kid.to_owned(), (key, alg));
    }
    Ok(out)
}

impl ExternalIssuer {
    /// Reads a JWKS file now; a URL is fetched on first use. Its tokens
    /// live at most `max_lifetime`, like the portal's own.
    pub fn new(config: IssuerConfig, max_lifetime: Duration) -> anyhow::Result<Self> {
        if config.organisations.is_empty() {
            anyhow::bail!(
                "issuer {}: list the organisations its tokens may speak for (organisations = [...])",
                config.issuer
            );
        }
        let keys = match (&config.jwks_file, &config.jwks_url) {
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("issuer {}: reading {}: {e}", config.issuer, path.display())
                })?;
                parse_jwks(&text).map_err(|e| {
                    anyhow::anyhow!("issuer {}: {}: {e}", config.issuer, path.display())
                })?
            }
            (None, Some(_)) => HashMap::new(),
            _ => anyhow::bail!(
                "issuer {}: give exactly one of jwks_file and jwks_url",
                config.issuer
            ),
        };
        let refetch_after =
            humantime::parse_duration(config.refetch_after.as_deref().unwrap_or(REFETCH_AFTER))
                .map_err(|e| anyhow::anyhow!("issuer {}: refetch_after: {e}", config.issuer))?;
        if refetch_after < MIN_REFETCH_AFTER {
            anyhow::bail!(
                "issuer {}: refetch_after must be at least {}",
                config.issuer,
                humantime::format_duration(MIN_REFETCH_AFTER)
            );
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            config,
            refetch_after,
            keys: RwLock::new(Arc::new(keys)),
            last_fetch: tokio::sync::Mutex::new(None),
            client,
            max_lifetime: max_lifetime.as_secs(),
        })
    }

    fn cached(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Fetches the JWKS URL again, unless it was fetched within
    /// `refetch_after`.
    async fn refresh(&self) {
        let Some(url) = &self.config.jwks_url else {
            return;
        };
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.refetch_after) {
            return;
        }
        *last = Some(Instant::now());
        let fetched = async {
            let text = self
                .client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            parse_jwks(&text)
        }
        .await;
        match fetched {
            Ok(keys) => {
                tracing::info!(issuer = %self.config.issuer, keys = keys.len(), "issuer keys fetched");
                match self.keys.write() {
                    Ok(mut k) => *k = Arc::new(keys),
                    Err(p) => *p.into_inner() = Arc::new(keys),
                }
            }
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "issuer keys not fetched");
            }
        }
    }

    /// Validates a token of this issuer: its key by `kid` (refetching the
    /// JWKS once for an unknown one), the key's algorithm, signature, `iss`,
    /// `aud`, `exp`, `nbf`; then maps the claims to a principal.
    pub async fn validate(&self, token: &str) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        // A cached set older than refetch_after is fetched again first:
        // keys the issuer removed stop being accepted.
        self.refresh().await;
        let mut found = self.cached().get(&kid).cloned();
        if found.is_none() {
            self.refresh().await;
            found = self.cached().get(&kid).cloned();
        }
        let (key, alg) = found.ok_or(TokenError::UnknownKey)?;
        if header.alg != alg {
            return Err(TokenError::UnknownKey);
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims;
        // No token of another issuer lives longer than the portal's own may.
        let now = jsonwebtoken::get_current_timestamp();
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or(TokenError::Claims)?;
        let bound = self.max_lifetime.saturating_add(LEEWAY_SECONDS);
        let too_long = match claims.get("iat").map(Value::as_u64) {
            Some(Some(iat)) => {
                iat > now.saturating_add(LEEWAY_SECONDS) || exp.saturating_sub(iat) > bound
            }
            Some(None) => true,
            None => false,
        };
        if too_long || exp.saturating_sub(now) > bound {
            return Err(TokenError::Lifetime);
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let role_value = text(&self.config.role_claim).ok_or(TokenError::Claims)?;
        let role_name = if self.config.roles.is_empty() {
            role_value
        } else {
            self.config
                .roles
                .get(role_value)
                .ok_or(TokenError::Claims)?
                .as_str()
        };
        let role: Role = role_name.parse().map_err(|_| TokenError::Claims)?;
        let org = text(&self.config.org_claim).ok_or(TokenError::Claims)?;
        if !self.config.organisations.iter().any(|o| o == org) {
            return Err(TokenError::Claims);
        }
        let subject = text("sub").ok_or(TokenError::Claims)?;
        Ok(Principal {
            subject: format!("{}#{subject}", self.config.issuer),
            role,
            org: org.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refetch_after_has_a_lower_bound() {
        let config = |refetch: &str| IssuerConfig {
            issuer: "https://idp.example".into(),
            audience: "portal".into(),
            jwks_file: None,
            jwks_url: Some("https://idp.example/jwks".into()),
            role_claim: "role".into(),
            org_claim: "org".into(),
            roles: Default::default(),
            organisations: vec!["nordcycle".into()],
            refetch_after: Some(refetch.into()),
        };
        for short in ["0s", "500ms"] {
            let e = ExternalIssuer::new(config(short), crate::config::DEFAULT_MAX_TOKEN_LIFETIME)
                .unwrap_err();
            assert!(e.to_string().contains("at least 1s"), "{e}");
        }
        assert!(
            ExternalIssuer::new(config("1s"), crate::config::DEFAULT_MAX_TOKEN_LIFETIME).is_ok()
        );
    }

    #[test]
    fn symmetric_and_kidless_keys_are_skipped() {
        let doc = serde_json::json!({ "keys": [
            { "kty": "oct", "kid": "h", "k": "c2VjcmV0", "alg": "HS256" },
            { "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
            { "kty": "OKP", "crv": "Ed25519", "kid": "e", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }
        ]});
        let keys = parse_jwks(&doc.to_string()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["e"].1, Algorithm::EdDSA);
    }
}
