//! Content negotiation for GraphQL over HTTP: the media type an answer takes, from the
//! request's `Accept` header (`application/graphql-response+json` or `application/json`).

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};

/// The media types an answer can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/graphql-response+json`: request errors answer 4xx.
    GraphqlResponse,
    /// `application/json`: every well-formed request answers 200.
    Json,
}

impl Media {
    const GRAPHQL_RESPONSE: &'static str = "application/graphql-response+json";
    const JSON: &'static str = "application/json";

    pub(super) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }

    /// The media type `Accept` asks for: the one with the highest quality; between equals, the
    /// one named outright over one matched by a wildcard, and when both are named,
    /// `application/graphql-response+json`; when both only match a wildcard (`*/*`),
    /// `application/json`. No `Accept` (or an empty one) means `application/json`. `None` when
    /// the client takes neither.
    pub(super) fn negotiate(req: &HttpRequest) -> Option<Media> {
        let mut ranges = Vec::new();
        for value in req.headers().get_all(header::ACCEPT) {
            let value = value.to_str().ok()?;
            ranges.extend(value.split(',').filter_map(MediaRange::parse));
        }
        if ranges.is_empty() {
            return Some(Media::Json);
        }
        let graphql = MediaRange::best(&ranges, Self::GRAPHQL_RESPONSE);
        let json = MediaRange::best(&ranges, Self::JSON);
        let pick = match (graphql, json) {
            (None, None) => return None,
            (Some(_), None) => Media::GraphqlResponse,
            (None, Some(_)) => Media::Json,
            (Some((gq, gs)), Some((jq, js))) => {
                if (gq, gs) != (jq, js) {
                    if (gq, gs) > (jq, js) {
                        Media::GraphqlResponse
                    } else {
                        Media::Json
                    }
                } else if gs == Specificity::Exact {
                    Media::GraphqlResponse
                } else {
                    Media::Json
                }
            }
        };
        Some(pick)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    Any,
    Type,
    Exact,
}

/// One entry of `Accept`: a media range and its quality in thousandths.
struct MediaRange {
    essence: String,
    quality: u16,
}

impl MediaRange {
    fn parse(item: &str) -> Option<MediaRange> {
        let mut parts = item.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        if essence.is_empty() {
            return None;
        }
        let mut quality = 1000;
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                let q = value.trim().parse::<f32>().ok()?;
                quality = (q.clamp(0.0, 1.0) * 1000.0).round() as u16;
            }
        }
        Some(MediaRange { essence, quality })
    }

    fn matches(&self, media: &str) -> Option<Specificity> {
        if self.essence == media {
            Some(Specificity::Exact)
        } else if self.essence == "*/*" {
            Some(Specificity::Any)
        } else if let Some(ty) = self.essence.strip_suffix("/*")
            && media.split('/').next() == Some(ty)
        {
            Some(Specificity::Type)
        } else {
            None
        }
    }

    /// The quality `ranges` give `media` (that of its most specific match) and how specific that
    /// match is; `None` when nothing matches or the quality is 0.
    fn best(ranges: &[MediaRange], media: &str) -> Option<(u16, Specificity)> {
        ranges
            .iter()
            .filter_map(|range| range.matches(media).map(|s| (s, range.quality)))
            .max_by_key(|(specificity, _)| *specificity)
            .map(|(specificity, quality)| (quality, specificity))
            .filter(|(quality, _)| *quality > 0)
    }
}
