//! Bearer JWTs: EdDSA-signed by the portal's `token` key, header `kid`,
//! claims `iss` (public base URL), `aud` (`provenance-portal`), `sub`,
//! `role`, `org`, `iat`, `exp`. Validation pins the algorithm to EdDSA and
//! picks the key by `kid`; every refusal is the same opaque error.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::KeyPair;

pub const AUDIENCE: &str = "provenance-portal";
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub(crate) const LEEWAY_SECONDS: u64 = 30;

pub use crate::domain::principal::{Principal, Role};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    role: Role,
    org: String,
    iat: u64,
    exp: u64,
}

/// Why a token was refused. Only logged, never sent: clients see one
/// `UNAUTHENTICATED` whatever the reason.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("token header names no key we publish")]
    UnknownKey,
    #[error("token rejected: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("token claims name no role or organisation the portal knows")]
    Claims,
    #[error("token lives longer than the portal's maximum, or was issued in the future")]
    Lifetime,
}

/// Issues and validates the portal's own tokens.
pub struct TokenService {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    /// Every published token key, current and retired, by kid, with the
    /// retirement time (seconds) of retired ones: a token a retired key
    /// signed before its rotation stays valid until its own expiry; one it
    /// signed later (a leaked key) is refused.
    decoding: HashMap<String, (DecodingKey, Option<u64>)>,
    validation: Validation,
    /// The longest lifetime (`exp - iat`, seconds) a token may have.
    max_lifetime: u64,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    pub fn new(issuer: &str, key: &KeyPair) -> anyhow::Result<Self> {
        Self::with_keys(
            issuer,
            key,
            std::iter::empty(),
            crate::config::DEFAULT_MAX_TOKEN_LIFETIME,
        )
    }

    /// Signs with `current`; accepts tokens of `current`, and of `retired`
    /// keys (with their retirement time) that could have been issued
    /// before they retired: `iat` no later than the retirement, and `exp`
    /// no later than the retirement plus `max_lifetime`, which bounds
    /// every token (`exp - iat`). A retired key is thus accepted for at most
    /// `max_lifetime` after its retirement, however its holder fills in
    /// `iat`.
    pub fn with_keys<'a>(
        issuer: &str,
        current: &'a KeyPair,
        retired: impl Iterator<Item = (&'a KeyPair, std::time::SystemTime)>,
        max_lifetime: Duration,
    ) -> anyhow::Result<Self> {
        let key = current;
        let encoding = EncodingKey::from_ed_der(&key.pkcs8_der()?);
        // jsonwebtoken wants the raw 32-byte public key here, not SPKI DER.
        let decoding = std::iter::once((key, None))
            .chain(retired.map(|(k, at)| {
                let secs = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                (k, Some(secs))
            }))
            .map(|(k, retired_at)| {
                (
                    k.kid().to_owned(),
                    (DecodingKey::from_ed_der(&k.public_key_bytes()), retired_at),
                )
            })
            .collect();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self {
            issuer: issuer.to_owned(),
            kid: key.kid().to_owned(),
            encoding,
            decoding,
            validation,
            max_lifetime: max_lifetime.as_secs(),
        })
    }

    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        org: &str,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        if ttl.as_secs() > self.max_lifetime {
            anyhow::bail!(
                "a token lives at most {}",
                humantime::format_duration(Duration::from_secs(self.max_lifetime))
            );
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: subject.to_owned(),
            role,
            org: org.to_owned(),
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    pub fn validate(&self, token: &str) -> Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::UnknownKey);
        }
        let (key, retired_at) = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)?;
        let claims = data.claims;
        let now = jsonwebtoken::get_current_timestamp();
        if claims.iat > now.saturating_add(LEEWAY_SECONDS)
            || claims.exp.saturating_sub(claims.iat) > self.max_lifetime
        {
            return Err(TokenError::Lifetime);
        }
        if retired_at.is_some_and(|r| {
            claims.iat > r.saturating_add(LEEWAY_SECONDS)
                || claims.exp > r.saturating_add(self.max_lifetime.saturating_add(LEEWAY_SECONDS))
        }) {
            return Err(TokenError::UnknownKey);
        }
        Ok(Principal {
            subject: claims.sub,
            role: claims.role,
            org: claims.org,
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::SigningKey;

    use super::*;

    fn service() -> TokenService {
        TokenService::new("http://localhost:8080", &KeyPair::generate().unwrap()).unwrap()
    }

    #[test]
    fn round_trip() {
        let s = service();
        let jwt = s
            .issue("alice", Role::Staff, "ampera", Duration::from_secs(60))
            .unwrap();
        let p = s.validate(&jwt).unwrap();
        assert_eq!(p.role, Role::Staff);
        assert_eq!(p.org, "ampera");
        assert_eq!(p.subject, "alice");
    }

    #[test]
    fn another_key_expired_or_edited_is_refused() {
        let s = service();
        let other = service();
        let jwt = other
            .issue("eve", Role::Admin, "ampera", Duration::from_secs(60))
            .unwrap();
        assert!(s.validate(&jwt).is_err());
        let expired = s
            .issue("bob", Role::Staff, "ampera", Duration::ZERO)
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
        // zero TTL is still within the leeway; move the clock instead
        let mut strict = service();
        strict.validation.leeway = 0;
        let expired_strict = strict
            .issue("bob", Role::Staff, "ampera", Duration::ZERO)
            .unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert!(strict.validate(&expired_strict).is_err());
        assert!(s.validate(&expired).is_ok(), "within leeway");
        let good = s
            .issue("bob", Role::Staff, "ampera", Duration::from_secs(60))
            .unwrap();
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert!(s.validate(&parts.join(".")).is_err());
        assert!(s.validate("not-a-token").is_err());
    }

    /// Signs arbitrary claims with `key`, under `header`.
    fn forge(header: &Header, claims: &serde_json::Value, key: &KeyPair) -> String {
        let enc = EncodingKey::from_ed_der(&key.pkcs8_der().unwrap());
        jsonwebtoken::encode(header, claims, &enc).unwrap()
    }

    fn claims(delta_exp: i64) -> serde_json::Value {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        serde_json::json!({
            "iss": "http://localhost:8080", "aud": AUDIENCE, "sub": "mallory",
            "role": "admin", "org": "ampera", "iat": now, "exp": now + delta_exp,
        })
    }

    /// Each refusal the access issue lists, against a service whose key
    /// `key` is published; every one is refused, and a well-formed token of
    /// the same key is accepted (so the refusals are not an accident).
    #[test]
    fn every_forgery_is_refused() {
        let key = KeyPair::generate().unwrap();
        let retired = KeyPair::generate().unwrap();
        // Retired a minute from now: its tokens issued until then are good.
        let retired_at = std::time::SystemTime::now() + Duration::from_secs(60);
        let s = TokenService::with_keys(
            "http://localhost:8080",
            &key,
            [(&retired, retired_at)].into_iter(),
            crate::config::DEFAULT_MAX_TOKEN_LIFETIME,
        )
        .unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid().to_owned());
        assert!(s.validate(&forge(&header, &claims(600), &key)).is_ok());
        let mut by_retired = Header::new(Algorithm::EdDSA);
        by_retired.kid = Some(retired.kid().to_owned());
        assert!(
            s.validate(&forge(&by_retired, &claims(600), &retired))
                .is_ok(),
            "a retired key's token stays valid until it expires"
        );

        let mut refused: Vec<(&str, String)> = Vec::new();
        // alg: none, no signature.
        let b64 = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
        refused.push((
            "alg none",
            format!(
                "{}.{}.",
                b64(serde_json::json!({"alg": "none", "kid": key.kid()})),
                b64(claims(600))
            ),
        ));
        // HS256 with the public key as the HMAC secret.
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(key.kid().to_owned());
        refused.push((
            "HS256 keyed with the public key",
            jsonwebtoken::encode(
                &hs,
                &claims(600),
                &EncodingKey::from_secret(&key.public_key_bytes()).unwrap(),
            )
            .unwrap(),
        ));
        // A kid nobody published, signed by an unpublished key.
        let stranger = KeyPair::generate().unwrap();
        let mut unknown = Header::new(Algorithm::EdDSA);
        unknown.kid = Some(stranger.kid().to_owned());
        refused.push(("unknown kid", forge(&unknown, &claims(600), &stranger)));
        // Our kid, someone else's signature.
        refused.push((
            "unpublished key under our kid",
            forge(&header, &claims(600), &stranger),
        ));
        // No kid at all.
        refused.push((
            "no kid",
            forge(&Header::new(Algorithm::EdDSA), &claims(600), &key),
        ));
        refused.push(("expired", forge(&header, &claims(-3600), &key)));
        let mut early = claims(7200);
        early["nbf"] = (jsonwebtoken::get_current_timestamp() + 3600).into();
        refused.push(("not yet valid", forge(&header, &early, &key)));
        let mut aud = claims(600);
        aud["aud"] = "someone-else".into();
        refused.push(("wrong audience", forge(&header, &aud, &key)));
        let mut iss = claims(600);
        iss["iss"] = "https://evil.example".into();
        refused.push(("wrong issuer", forge(&header, &iss, &key)));
        let good = forge(&header, &claims(600), &key);
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let mut edited = claims(600);
        edited["org"] = "nordcycle".into();
        parts[1] = b64(edited);
        refused.push(("payload edited after signing", parts.join(".")));
        let mut missing = claims(600);
        missing.as_object_mut().unwrap().remove("exp");
        refused.push(("no exp", forge(&header, &missing, &key)));
        for (what, token) in refused {
            assert!(s.validate(&token).is_err(), "{what} was accepted");
        }
        // A retired key's signature on a token issued after its retirement
        // (a leaked key) is refused.
        let mut late = claims(600);
        late["iat"] = (jsonwebtoken::get_current_timestamp() + 3600).into();
        late["exp"] = (jsonwebtoken::get_current_timestamp() + 7200).into();
        assert!(s.validate(&forge(&by_retired, &late, &retired)).is_err());
        // A key no longer published: a service without the retired key.
        let without = TokenService::new("http://localhost:8080", &key).unwrap();
        assert!(
            without
                .validate(&forge(&by_retired, &claims(600), &retired))
                .is_err()
        );
    }

    /// Issue 15: whoever holds a retired token key cannot mint a token
    /// that outlives the retirement by more than the maximum lifetime (the
    /// key holder chooses `iat`); no token lives longer than the maximum,
    /// or starts in the future.
    #[test]
    fn no_token_outlives_the_maximum_lifetime() {
        let key = KeyPair::generate().unwrap();
        let retired = KeyPair::generate().unwrap();
        let hour = 3600u64;
        let now = jsonwebtoken::get_current_timestamp();
        let retired_at = std::time::UNIX_EPOCH + Duration::from_secs(now - hour);
        let s = TokenService::with_keys(
            "http://localhost:8080",
            &key,
            [(&retired, retired_at)].into_iter(),
            Duration::from_secs(2 * hour),
        )
        .unwrap();
        let mut by_retired = Header::new(Algorithm::EdDSA);
        by_retired.kid = Some(retired.kid().to_owned());
        let mut current = Header::new(Algorithm::EdDSA);
        current.kid = Some(key.kid().to_owned());
        let with = |iat: u64, exp: u64| {
            let mut c = claims(0);
            c["iat"] = iat.into();
            c["exp"] = exp.into();
            c
        };
        // Issued a minute before the retirement for 90 minutes: still good.
        let before = with(now - hour - 60, now + 30 * 60 - 60);
        assert!(s.validate(&forge(&by_retired, &before, &retired)).is_ok());
        // Backdated to before the retirement, valid for a month: refused.
        let forever = with(now - hour - 60, now + 30 * 24 * hour);
        assert!(matches!(
            s.validate(&forge(&by_retired, &forever, &retired)),
            Err(TokenError::Lifetime)
        ));
        // The current key: at most two hours, and not from the future.
        assert!(
            s.validate(&forge(&current, &with(now, now + 2 * hour), &key))
                .is_ok()
        );
        for (what, c) in [
            ("three days", with(now, now + 72 * hour)),
            ("issued tomorrow", with(now + 24 * hour, now + 25 * hour)),
        ] {
            assert!(
                matches!(
                    s.validate(&forge(&current, &c, &key)),
                    Err(TokenError::Lifetime)
                ),
                "{what} was accepted"
            );
        }
        // Issuing refuses a longer lifetime.
        assert!(
            s.issue("bob", Role::Staff, "ampera", Duration::from_secs(3 * hour))
                .is_err()
        );
        assert!(
            s.issue("bob", Role::Staff, "ampera", Duration::from_secs(2 * hour))
                .is_ok()
        );
    }

    /// RFC 8037 A.4: jsonwebtoken's EdDSA signer reproduces the published
    /// signature byte for byte (Ed25519 is deterministic).
    #[test]
    fn eddsa_signature_matches_rfc8037() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/vectors/jose-rfc8037/rfc8037-ed25519-example.json"
        ))
        .unwrap();
        let d = URL_SAFE_NO_PAD
            .decode(v["private_jwk"]["d"].as_str().unwrap())
            .unwrap();
        let key = KeyPair::from_signing_key(SigningKey::from_bytes(&d.try_into().unwrap()));
        let enc = EncodingKey::from_ed_der(&key.pkcs8_der().unwrap());
        let sig = jsonwebtoken::crypto::sign(
            v["signing_input"].as_str().unwrap().as_bytes(),
            &enc,
            Algorithm::EdDSA,
        )
        .unwrap();
        let expected = v["jws_compact"]
            .as_str()
            .unwrap()
            .rsplit('.')
            .next()
            .unwrap();
        assert_eq!(sig, expected);
    }
}
