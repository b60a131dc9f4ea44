//! Settings for calls: the ICE servers handed to clients, the TURN secret, and how long
//! credentials and call sessions last.

use clap::Args;

/// Calls: the STUN and TURN servers `iceServers` hands to clients, and the time-limited TURN
/// credentials it makes for them the way coturn's `use-auth-secret` (the TURN REST API)
/// checks them.
#[derive(Clone, Args)]
pub struct CallConfig {
    /// STUN and TURN URLs for clients' `RTCPeerConnection` (comma-separated), e.g.
    /// `stun:turn.example.com:3478,turn:turn.example.com:3478?transport=udp`. Schemes:
    /// `stun:`, `stuns:`, `turn:`, `turns:`. No ICE servers when unset.
    #[arg(
        long = "ice-urls",
        env = "CONFAB_ICE_URLS",
        value_delimiter = ',',
        value_parser = ice_url,
        global = true
    )]
    pub ice_urls: Vec<String>,
    /// The TURN server's shared secret (coturn's `static-auth-secret`): TURN URLs get
    /// credentials signed with it. Required when `--ice-urls` has a TURN URL.
    #[arg(long = "turn-secret", env = "CONFAB_TURN_SECRET", global = true)]
    pub turn_secret: Option<String>,
    /// Seconds a TURN credential stays valid after `iceServers` made it.
    #[arg(
        long = "turn-credential-ttl",
        env = "CONFAB_TURN_CREDENTIAL_TTL",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub turn_credential_ttl_secs: u64,
    /// Seconds a call session stays in its call without a `callHeartbeat`: past that it
    /// leaves with reason `timeout` (clients heartbeat every third of it).
    #[arg(
        long = "call-session-ttl",
        env = "CONFAB_CALL_SESSION_TTL",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub call_session_ttl_secs: u64,
}

/// Never prints the secret, whoever formats the settings.
impl std::fmt::Debug for CallConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallConfig")
            .field("ice_urls", &self.ice_urls)
            .field(
                "turn_secret",
                &self.turn_secret.as_ref().map(|_| "<hidden>"),
            )
            .field("turn_credential_ttl_secs", &self.turn_credential_ttl_secs)
            .field("call_session_ttl_secs", &self.call_session_ttl_secs)
            .finish()
    }
}

impl CallConfig {
    /// How long a call session lasts without a heartbeat.
    pub fn call_session_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.call_session_ttl_secs)
    }

    /// The TURN URLs among `--ice-urls`.
    pub fn turn_urls(&self) -> impl Iterator<Item = &str> {
        self.ice_urls
            .iter()
            .map(String::as_str)
            .filter(|url| IceScheme::of(url).is_some_and(IceScheme::is_turn))
    }

    /// TURN URLs need the secret: a TURN server with `use-auth-secret` refuses clients
    /// without credentials, so a TURN URL handed out without them could never relay.
    pub fn check(&self) -> anyhow::Result<()> {
        let turn_secret_set = self.turn_secret.as_deref().is_some_and(|s| !s.is_empty());
        if let Some(url) = self.turn_urls().next()
            && !turn_secret_set
        {
            anyhow::bail!(
                "--ice-urls has the TURN URL `{url}` but --turn-secret (CONFAB_TURN_SECRET) is \
                 not set: set it to the TURN server's static-auth-secret, or list only stun: URLs"
            );
        }
        Ok(())
    }
}

/// The scheme of an ICE server URL (RFC 7064, RFC 7065).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceScheme {
    Stun,
    Stuns,
    Turn,
    Turns,
}

impl IceScheme {
    /// The scheme of a URL [`ice_url`] accepted; None for any other text.
    pub fn of(url: &str) -> Option<Self> {
        let (scheme, _) = url.split_once(':')?;
        Some(match scheme {
            "stun" => Self::Stun,
            "stuns" => Self::Stuns,
            "turn" => Self::Turn,
            "turns" => Self::Turns,
            _ => return None,
        })
    }

    pub fn is_turn(self) -> bool {
        matches!(self, Self::Turn | Self::Turns)
    }
}

/// A STUN or TURN URL as browsers accept it in `RTCIceServer.urls`:
/// `stun[s]:host[:port]` or `turn[s]:host[:port][?transport=udp|tcp]`. The scheme is
/// lower-cased; anything else is refused at start-up, not by clients later.
fn ice_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(':').ok_or_else(|| {
        format!("`{value}` needs a scheme: stun:, stuns:, turn: or turns: (e.g. stun:host:3478)")
    })?;
    let scheme = scheme.to_ascii_lowercase();
    let url = format!("{scheme}:{rest}");
    let kind = IceScheme::of(&url).ok_or_else(|| {
        format!("`{value}`: unknown scheme `{scheme}:`, expected stun:, stuns:, turn: or turns:")
    })?;
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    if authority.starts_with("//") {
        return Err(format!(
            "`{value}`: no `//` after the scheme (write {scheme}:host:port)"
        ));
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: [::1]:3478.
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .filter(|(host, _)| host.parse::<std::net::Ipv6Addr>().is_ok())
                .ok_or_else(|| format!("`{value}`: malformed IPv6 address in `[...]`"))?;
            match after {
                "" => (host, None),
                port => (
                    host,
                    Some(
                        port.strip_prefix(':')
                            .ok_or_else(|| format!("`{value}`: expected `:port` after the host"))?,
                    ),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    // (`:` only ever reaches here inside an IPv6 literal, which parsed above.)
    if !host_ok {
        return Err(format!("`{value}`: missing or malformed host"));
    }
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(1..))
    {
        return Err(format!("`{value}`: port must be 1 to 65535"));
    }
    match (kind.is_turn(), query) {
        (_, None) => {}
        (true, Some("transport=udp" | "transport=tcp")) => {}
        (true, Some(query)) => {
            return Err(format!(
                "`{value}`: `?{query}` not understood; TURN URLs take ?transport=udp or ?transport=tcp"
            ));
        }
        (false, Some(_)) => {
            return Err(format!("`{value}`: STUN URLs take no `?` parameters"));
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::ice_url;

    #[test]
    fn ice_urls_are_checked() {
        for ok in [
            "stun:turn.example.com",
            "stun:turn.example.com:3478",
            "stuns:turn.example.com:5349",
            "turn:10.0.0.1:3478?transport=udp",
            "turns:turn.example.com:5349?transport=tcp",
            "turn:[::1]:3478",
        ] {
            assert_eq!(ice_url(ok).as_deref(), Ok(ok));
        }
        assert_eq!(ice_url(" TURN:host:3478 ").as_deref(), Ok("turn:host:3478"));
        for bad in [
            "http://turn.example.com",
            "turn.example.com:3478",
            "turn:",
            "turn://host:3478",
            "turn:host:0",
            "turn:host:99999",
            "turn:host:x",
            "turn:host?transport=sctp",
            "stun:host?transport=udp",
            "turn:[nope]:3478",
            "turn:ho st",
        ] {
            assert!(ice_url(bad).is_err(), "{bad} accepted");
        }
        let err = ice_url("http://turn.example.com").unwrap_err();
        assert!(err.contains("unknown scheme `http:`"), "{err}");
    }
}
