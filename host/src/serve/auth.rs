//! Bearer tokens: `[server] user_tokens` may call the connector API, `[server] admin_token`
//! may also swap and roll back connectors.
//!
//! Only SHA-256 digests of the tokens are kept, and a presented token is compared with every
//! configured one in constant time (equal-length digests, no early exit), so neither the
//! comparison's timing nor a memory dump gives a token away. Tokens are never logged.

use super::ServerState;
use super::error::ApiError;
use crate::config::ServerConfig;
use anyhow::bail;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a valid token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
}

/// The configured tokens, as digests.
pub struct Tokens {
    users: Vec<[u8; 32]>,
    admin: Option<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("users", &self.users.len())
            .field("admin", &self.admin.is_some())
            .finish()
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two digests in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

impl Tokens {
    /// Refuses an open API: serve mode launches VMs on someone's account.
    pub fn from_config(server: &ServerConfig) -> anyhow::Result<Self> {
        if server.user_tokens.is_empty() && server.admin_token.is_none() {
            bail!(
                "serve mode needs API tokens and none is configured: set `user_tokens = [\"…\"]` and/or `admin_token = \"…\"` under [server] in the configuration file (an open API that launches VMs is unsafe; e.g. generate one with `openssl rand -hex 32`)"
            );
        }
        if server.user_tokens.iter().any(|t| t.trim().is_empty())
            || server
                .admin_token
                .as_deref()
                .is_some_and(|t| t.trim().is_empty())
        {
            bail!(
                "[server] has an empty token: every entry of user_tokens and admin_token must be a non-empty secret"
            );
        }
        Ok(Tokens {
            users: server.user_tokens.iter().map(|t| hash(t)).collect(),
            admin: server.admin_token.as_deref().map(hash),
        })
    }

    /// The role a presented token grants, if any. Checks every token, always.
    pub fn role(&self, presented: &str) -> Option<Role> {
        let h = hash(presented);
        let admin = self.admin.as_ref().is_some_and(|a| same(a, &h));
        let user = self.users.iter().fold(false, |acc, u| acc | same(u, &h));
        if admin {
            Some(Role::Admin)
        } else if user {
            Some(Role::User)
        } else {
            None
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Who is calling, for per-caller limits: a fingerprint of the token (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// Every `/v1/` request: a valid token, whose [`Role`] and [`Caller`] are handed on as request
/// extensions.
pub async fn require_token(
    State(state): State<ServerState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return ApiError::unauthenticated(
            "this API needs `Authorization: Bearer <token>` with one of the tokens of [server] user_tokens or admin_token",
        )
        .into_response();
    };
    match state.tokens().role(token) {
        Some(role) => {
            let fingerprint: String = hash(token)[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            req.extensions_mut().insert(role);
            req.extensions_mut().insert(Caller(fingerprint));
            next.run(req).await
        }
        None => ApiError::unauthenticated("the bearer token is not valid for this server")
            .into_response(),
    }
}

/// Admin routes: the admin token only.
pub async fn require_admin(req: Request, next: Next) -> Response {
    match req.extensions().get::<Role>() {
        Some(Role::Admin) => next.run(req).await,
        _ => ApiError::forbidden(
            "this is an admin route: it needs the admin token ([server] admin_token)",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::from_config(&ServerConfig {
            user_tokens: vec!["user-1".into(), "user-2".into()],
            admin_token: Some("admin".into()),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn roles_follow_the_configured_tokens() {
        let t = tokens();
        assert_eq!(t.role("user-2"), Some(Role::User));
        assert_eq!(t.role("admin"), Some(Role::Admin));
        assert_eq!(t.role("user-3"), None);
        assert_eq!(t.role(""), None);
    }

    #[test]
    fn no_token_configured_is_refused() {
        let e = Tokens::from_config(&ServerConfig::default()).unwrap_err();
        assert!(e.to_string().contains("user_tokens"), "{e}");
        let e = Tokens::from_config(&ServerConfig {
            user_tokens: vec![" ".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("empty token"), "{e}");
    }

    #[test]
    fn bearer_header_is_parsed() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
