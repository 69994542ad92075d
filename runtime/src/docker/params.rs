//! Registry credentials, and the headers that carry them.

use std::collections::HashMap;

use base64::Engine;
use serde::Serialize;

use crate::error::Result;
use crate::http::request::Request;

/// Credentials for one registry, sent as `X-Registry-Auth`.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryAuth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "serveraddress", skip_serializing_if = "Option::is_none")]
    pub server_address: Option<String>,
    #[serde(rename = "identitytoken", skip_serializing_if = "Option::is_none")]
    pub identity_token: Option<String>,
    #[serde(rename = "registrytoken", skip_serializing_if = "Option::is_none")]
    pub registry_token: Option<String>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .field("server_address", &self.server_address)
            .finish_non_exhaustive()
    }
}

impl RegistryAuth {
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        RegistryAuth {
            username: Some(username.into()),
            password: Some(password.into()),
            ..Default::default()
        }
    }

    /// The header value: base64url (the alphabet the daemon decodes) of the JSON.
    pub fn header_value(&self) -> String {
        encode_header_json(self)
    }
}

/// Credentials for several registries, sent as `X-Registry-Config` with builds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryConfig(pub HashMap<String, RegistryAuth>);

impl RegistryConfig {
    pub fn header_value(&self) -> String {
        encode_header_json(&self.0)
    }
}

fn encode_header_json(value: &impl Serialize) -> String {
    let json = serde_json::to_vec(value).expect("credentials always serialize");
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

/// The headers that carry credentials to the daemon, Docker's own encoding of them.
impl Request {
    pub fn registry_auth(self, auth: &RegistryAuth) -> Result<Self> {
        self.header("x-registry-auth", &auth.header_value())
    }

    pub fn registry_config(self, config: &RegistryConfig) -> Result<Self> {
        self.header("x-registry-config", &config.header_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_is_base64url_json() {
        let auth = RegistryAuth::password("me", "p?>>");
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(auth.header_value())
            .unwrap();
        assert_eq!(decoded, br#"{"username":"me","password":"p?>>"}"#);
        assert!(!auth.header_value().contains('+') && !auth.header_value().contains('/'));
    }
}
