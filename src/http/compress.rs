//! gzip for answers worth compressing, when the client says it takes gzip (`Accept-Encoding`).
//!
//! A GraphQL answer is JSON, which gzip shrinks several times over, even at the fast level used
//! here (sizes and costs in docs/performance.md). Browsers, `fetch`, Apollo, urql and
//! mobile HTTP stacks send `Accept-Encoding: gzip` on their own and decode transparently, so
//! clients need no change. WebSocket messages are not compressed (actix-ws has no
//! permessage-deflate).

use std::io::Write as _;

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody as _};
use actix_web::http::header::{self, AcceptEncoding, Encoding, Header as _, HeaderValue};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Smaller answers go as they are: they fit a packet either way, and gzip's header and
/// checksum would eat much of the gain.
pub const MIN_BYTES: usize = 1024;

/// Whether the client prefers gzip to the plain answer. A request without the header, with
/// only `*`, or preferring an encoding we do not offer gets the plain answer.
pub fn accepts_gzip(req: &actix_web::HttpRequest) -> bool {
    AcceptEncoding::parse(req).is_ok_and(|accept| {
        accept.negotiate([Encoding::gzip(), Encoding::identity()].iter()) == Some(Encoding::gzip())
    })
}

/// `response` with its body gzipped at `level` when `accepted` (the client takes gzip) and the body is complete
/// (not streamed), at least [`MIN_BYTES`] and not already encoded. Every body of that size says
/// `Vary: Accept-Encoding`, compressed or not, so a cache keeps the two apart.
pub fn gzip(response: HttpResponse, accepted: bool, level: Compression) -> HttpResponse {
    let (mut response, body) = response.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        Err(body) => return response.set_body(body),
    };
    let headers = response.headers_mut();
    if bytes.len() >= MIN_BYTES && !headers.contains_key(header::CONTENT_ENCODING) {
        // One Vary header, its tokens joined: the CORS middleware around this extends the
        // first Vary header it finds and replaces the rest.
        let vary = match headers.get(header::VARY).and_then(|v| v.to_str().ok()) {
            Some(before) => HeaderValue::from_str(&format!("{before}, accept-encoding"))
                .unwrap_or(HeaderValue::from_static("accept-encoding")),
            None => HeaderValue::from_static("accept-encoding"),
        };
        headers.insert(header::VARY, vary);
        if let Some(compressed) = accepted.then(|| gzip_bytes(&bytes, level)).flatten() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            return response.set_body(BoxBody::new(compressed));
        }
    }
    response.set_body(BoxBody::new(bytes))
}

/// `bytes` gzipped. (Writing to a `Vec` does not fail; the `Option` is for io's `Result`.)
pub fn gzip_bytes(bytes: &[u8], level: Compression) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), level);
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}
