//! What a message may carry: its text and its metadata, checked and cleaned.

use serde_json::Value as Json;

use crate::error::{ApiError, ApiResult};

pub const BODY_MAX: usize = 10_000;
pub const METADATA_MAX_BYTES: usize = 16 * 1024;
pub const METADATA_MAX_DEPTH: usize = 16;

pub(super) fn body(raw: &str) -> ApiResult<String> {
    let body = raw.trim();
    let len = body.chars().count();
    if len == 0 || len > BODY_MAX {
        return Err(ApiError::bad_input(
            "body",
            "a message is 1 to 10,000 characters",
        ));
    }
    Ok(body.to_owned())
}

/// Metadata is a JSON object of at most 16 KiB and 16 levels of nesting.
pub fn metadata(value: Json) -> ApiResult<Json> {
    if !value.is_object() {
        return Err(ApiError::bad_input(
            "metadata",
            "metadata must be a JSON object",
        ));
    }
    if depth(&value) > METADATA_MAX_DEPTH {
        return Err(ApiError::bad_input(
            "metadata",
            "metadata is nested too deeply",
        ));
    }
    let size = serde_json::to_vec(&value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > METADATA_MAX_BYTES {
        return Err(ApiError::bad_input(
            "metadata",
            "metadata is larger than 16 KiB",
        ));
    }
    Ok(value)
}

fn depth(value: &Json) -> usize {
    match value {
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Json::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_limits() {
        assert!(metadata(serde_json::json!({ "a": [1, { "b": 2 }] })).is_ok());
        assert!(metadata(serde_json::json!([1])).is_err());
        let deep = (0..20).fold(
            serde_json::json!(1),
            |inner, _| serde_json::json!({ "x": inner }),
        );
        assert!(metadata(deep).is_err());
        let big = serde_json::json!({ "x": "a".repeat(METADATA_MAX_BYTES) });
        assert!(metadata(big).is_err());
    }

    #[test]
    fn bodies() {
        assert!(body("   ").is_err());
        assert_eq!(body("  hi ").ok().as_deref(), Some("hi"));
        assert!(body(&"x".repeat(BODY_MAX)).is_ok());
        assert!(body(&"x".repeat(BODY_MAX + 1)).is_err());
    }
}
