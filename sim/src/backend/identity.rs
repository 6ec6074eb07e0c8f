//! Identity (Astakos): token lookup and the `tokens` request rules.

use super::world::Core;
use crate::config::SimUser;
use crate::error::{ApiError, ApiResult};

/// Credentials as found in a `POST /tokens` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `auth.token.id` or `auth.passwordCredentials.password`.
    pub token: Option<String>,
    /// `auth.passwordCredentials.username` (must be the token owner's uuid).
    pub username: Option<String>,
    /// `auth.tenantName` (must be the user's uuid).
    pub tenant_name: Option<String>,
}

impl Core {
    /// Resolves the `X-Auth-Token` of a service request.
    pub fn authenticate(&self, token: Option<&str>) -> ApiResult<SimUser> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            ApiError::Unauthorized("Access denied. No authentication token".into())
        })?;
        self.user_by_token(token)
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("Invalid token".into()))
    }

    /// Checks `POST /tokens` credentials, in Astakos' order.
    pub fn issue_token(&self, creds: &Credentials) -> ApiResult<SimUser> {
        let token = creds
            .token
            .as_deref()
            .ok_or_else(|| ApiError::bad("Malformed request: missing credentials"))?;
        let user = self
            .user_by_token(token)
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("Invalid token".into()))?;
        if let Some(name) = &creds.username
            && name != &user.uuid
        {
            return Err(ApiError::Unauthorized("Invalid credentials".into()));
        }
        if let Some(tenant) = &creds.tenant_name
            && tenant != &user.uuid
        {
            return Err(ApiError::bad("Not conforming tenantName"));
        }
        Ok(user)
    }
}
