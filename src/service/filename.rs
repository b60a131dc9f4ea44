//! The name kept for an uploaded file: what a client sends as the multipart filename may be a
//! path, carry control or bidirectional-override characters, or be of any length.

/// Longest kept filename, in characters.
pub const FILENAME_MAX: usize = 200;
/// Longest extension kept whole when a name is shortened, in characters.
const EXTENSION_MAX: usize = 16;

/// The name to keep for a file a client called `raw`: its last path component, without
/// control or bidirectional-override characters, trimmed, at most [`FILENAME_MAX`] characters
/// (a long name is cut before its extension, which stays). None when nothing is left.
pub fn sanitize(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'))
        .collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    if clean.is_empty() {
        return None;
    }
    if clean.chars().count() <= FILENAME_MAX {
        return Some(clean.to_owned());
    }
    let (stem, extension) = match clean.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= EXTENSION_MAX => {
            (stem, format!(".{ext}"))
        }
        _ => (clean, String::new()),
    };
    let keep = FILENAME_MAX - extension.chars().count();
    let stem: String = stem.chars().take(keep).collect();
    Some(format!("{}{extension}", stem.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_controls_and_length_but_keep_extensions() {
        assert_eq!(sanitize("photo.png").as_deref(), Some("photo.png"));
        assert_eq!(
            sanitize("C:\\Users\\ann\\cat.jpg").as_deref(),
            Some("cat.jpg")
        );
        assert_eq!(sanitize("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(
            sanitize("a\u{0}b\r\nc\u{202e}gpj.exe").as_deref(),
            Some("abcgpj.exe")
        );
        assert_eq!(sanitize(" .. "), None);
        assert_eq!(sanitize("dir/"), None);
        assert_eq!(sanitize(".hidden").as_deref(), Some("hidden"));
        let long = format!("{}.jpeg", "x".repeat(500));
        let kept = sanitize(&long).unwrap_or_default();
        assert_eq!(kept.chars().count(), FILENAME_MAX);
        assert!(kept.ends_with(".jpeg"));
        let wide = "é".repeat(300);
        assert_eq!(
            sanitize(&wide).map(|n| n.chars().count()),
            Some(FILENAME_MAX)
        );
    }
}
