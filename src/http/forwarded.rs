//! The client's address behind a proxy: `X-Forwarded-For` is believed only when the request
//! came from one of `--trusted-proxies`, and then read from the right, skipping the trusted
//! proxies' own entries, so a client cannot put an address of its choice in front of the
//! chain (everything left of the last untrusted entry could have been written by anyone).

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The address rate limits, the sign-in guard, sessions and audit rows see for `req`.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let chain: Vec<Option<IpAddr>> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| entry.trim().parse().ok())
        .collect();
    // Rightmost first: the entry the trusted proxy wrote, then the one before it, ... up to
    // the first address no trusted proxy has (or an entry that is not an address).
    let mut client = peer;
    for ip in chain.into_iter().rev() {
        let Some(ip) = ip else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}
