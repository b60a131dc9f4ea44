//! OpenID Connect providers: the `[[oidc]]` tables of the `--config` file.
//!
//! There is no flag for them (a list of tables does not fit one); each table is checked when
//! the file is read, so a typo stops start-up with the table's name and the field at fault.

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// One provider people may sign in with.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OidcProviderConfig {
    /// The `provider` argument of the OIDC operations: lowercase letters, digits, `_`, `-`.
    pub name: String,
    /// What a sign-in button shows; the name when unset.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The issuer URL; `<issuer>/.well-known/openid-configuration` is read on first use.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The allow-list of `redirectUri` values `startOidcLogin` accepts (exact match).
    pub redirect_uris: Vec<String>,
    /// Scopes asked for; `openid` is always among them.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(str::to_owned).to_vec()
}

/// Never prints the client secret, whoever formats the settings (`confab config` does).
impl std::fmt::Debug for OidcProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProviderConfig")
            .field("name", &self.name)
            .field("display_name", &self.display_name())
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl OidcProviderConfig {
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    fn check(&self) -> anyhow::Result<()> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            bail!("name must be 1-32 of a-z 0-9 _ -");
        }
        if !is_web_url(&self.issuer) {
            bail!("issuer must be an http:// or https:// URL");
        }
        if self.client_id.is_empty() {
            bail!("client-id is empty");
        }
        if self.redirect_uris.is_empty() {
            bail!("redirect-uris is empty: no redirectUri would be accepted");
        }
        if let Some(uri) = self.redirect_uris.iter().find(|uri| !is_web_url(uri)) {
            bail!("redirect URI `{uri}` is not an http:// or https:// URL");
        }
        Ok(())
    }
}

/// `http://` or `https://` and a host; the URL itself is parsed when the provider is used.
fn is_web_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/') && !rest.contains(' '))
}

/// Reads the `oidc` value of the config file: an array of tables, each checked, names unique.
pub(super) fn parse(value: toml::Value) -> anyhow::Result<Vec<OidcProviderConfig>> {
    let toml::Value::Array(tables) = value else {
        bail!("`oidc` must be an array of tables ([[oidc]])");
    };
    let mut providers: Vec<OidcProviderConfig> = Vec::with_capacity(tables.len());
    for (i, table) in tables.into_iter().enumerate() {
        let mut provider: OidcProviderConfig = table
            .try_into()
            .with_context(|| format!("[[oidc]] number {}", i + 1))?;
        provider
            .check()
            .with_context(|| format!("[[oidc]] `{}`", provider.name))?;
        if !provider.scopes.iter().any(|s| s == "openid") {
            provider.scopes.insert(0, "openid".to_owned());
        }
        if providers.iter().any(|p| p.name == provider.name) {
            bail!("[[oidc]] `{}` is named twice", provider.name);
        }
        providers.push(provider);
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn parse_text(text: &str) -> anyhow::Result<Vec<super::OidcProviderConfig>> {
        let mut table: toml::Table = text.parse()?;
        parse(
            table
                .remove("oidc")
                .unwrap_or(toml::Value::Array(Vec::new())),
        )
    }

    #[test]
    fn reads_providers_with_defaults() {
        let providers = parse_text(
            "[[oidc]]\nname = \"local\"\nissuer = \"http://127.0.0.1:4011\"\n\
             client-id = \"confab\"\nclient-secret = \"secret\"\n\
             redirect-uris = [\"http://127.0.0.1:8080/demo/\"]\n",
        )
        .unwrap();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].display_name(), "local");
        assert_eq!(providers[0].scopes, ["openid", "email", "profile"]);
        assert!(!format!("{:?}", providers[0]).contains("\"secret\""));
    }

    #[test]
    fn refuses_bad_tables() {
        let base = "issuer = \"http://127.0.0.1:4011\"\nclient-id = \"c\"\nclient-secret = \"s\"\n\
                    redirect-uris = [\"http://x/\"]\n";
        assert!(parse_text(&format!("[[oidc]]\nname = \"Bad Name\"\n{base}")).is_err());
        assert!(
            parse_text(&format!(
                "[[oidc]]\nname = \"a\"\n{base}[[oidc]]\nname = \"a\"\n{base}"
            ))
            .is_err()
        );
        assert!(parse_text(&format!("[[oidc]]\nname = \"a\"\ncolour = 1\n{base}")).is_err());
        assert!(parse_text("oidc = \"x\"").is_err());
    }
}
