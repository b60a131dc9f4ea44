//! Browser sessions in a cookie (`--cookie-sessions`): the `confab_session` cookie that
//! `login`, `register` and `completeOidcLogin` set when asked (`cookie: true`), and that
//! `logout` clears.
//!
//! The cookie is `HttpOnly` (page scripts never see the token, so an injected script cannot
//! carry it off), `SameSite=Lax` (other sites' requests do not bring it along), `Path=/`,
//! `Secure` unless `--cookie-secure=false`, and lasts as long as the session. What a request
//! signed in by it must show before it counts (the CSRF checks) is the HTTP layer's:
//! `crate::http` decides per request whether a resolver may set the cookie ([`CookieRequest`]).

/// The cookie's name.
pub const NAME: &str = "confab_session";

/// What a GraphQL request may do with the session cookie, put in its data by the HTTP layer
/// (absent on WebSocket, which cannot set cookies).
#[derive(Clone, Debug)]
pub struct CookieRequest {
    /// Why the request may not be signed in by the cookie, nor have it set (the CSRF check
    /// it failed); `None` when it may.
    pub refused: Option<&'static str>,
    /// Whether the request carried the cookie (then `logout` clears it).
    pub carried: bool,
    /// `--cookie-secure`.
    pub secure: bool,
}

/// The `Set-Cookie` value that stores `token` for `max_age_secs`.
pub fn set(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{NAME}={token}; Max-Age={max_age_secs}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear(secure: bool) -> String {
    set("", 0, secure)
}

/// The session token in a `Cookie` header's value, if it has one (the first, if several).
pub fn token(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NAME)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values() {
        assert_eq!(
            set("cfb_x", 60, true),
            "confab_session=cfb_x; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear(false),
            "confab_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(token("a=1; confab_session=cfb_x; b=2"), Some("cfb_x"));
        assert_eq!(token("confab_session=\"cfb_x\""), Some("cfb_x"));
        assert_eq!(token("confab_session=; b=2"), None);
        assert_eq!(token("xconfab_session=cfb_x"), None);
    }
}
