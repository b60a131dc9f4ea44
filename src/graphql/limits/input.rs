//! The request's input, checked before the parser or anything recursive sees it: the
//! document's text (bracket nesting, NUL) and the values in variables and literals (nesting,
//! NUL). Every walk here uses its own stack, so no input can overflow the thread's.

use async_graphql::{ServerError, Variables};
use async_graphql_value::{ConstValue, Value};

/// Deepest nesting of brackets in a document's text, and of lists and objects in variables.
/// A query at the depth limit (16) with nested input objects stays far below it; the parser
/// itself allows selection sets only 64 deep.
pub const MAX_NESTING: usize = 64;

pub(super) fn refuse(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "BAD_USER_INPUT");
    error
}

pub(super) fn nul() -> ServerError {
    refuse("strings may not contain U+0000 (NUL)".to_owned())
}

fn too_deep() -> ServerError {
    refuse(format!(
        "values and selections may be nested at most {MAX_NESTING} deep"
    ))
}

/// Checks a document's text before it is parsed: bracket nesting and NUL characters. One pass
/// over the bytes, skipping comments and strings as the GraphQL lexer does.
pub fn check_text(query: &str) -> Result<(), ServerError> {
    let bytes = query.as_bytes();
    if bytes.contains(&0) {
        return Err(nul());
    }
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        // A string cannot span lines: the parser stops here too, and what
                        // follows is counted.
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
                continue;
            }
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep());
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Checks variables: nesting and NUL characters, without recursion.
pub fn check_variables(variables: &Variables) -> Result<(), ServerError> {
    for (name, value) in variables.iter() {
        if name.contains('\0') {
            return Err(nul());
        }
        constant(value)?;
    }
    Ok(())
}

/// Refuses a constant (a variable, or a variable's default) nested past [`MAX_NESTING`] or
/// holding U+0000, without recursion.
pub(super) fn constant(value: &ConstValue) -> Result<(), ServerError> {
    let mut stack: Vec<(&ConstValue, usize)> = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        match value {
            ConstValue::String(s) if s.contains('\0') => return Err(nul()),
            ConstValue::List(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            ConstValue::Object(fields) => {
                for (key, v) in fields {
                    if key.contains('\0') {
                        return Err(nul());
                    }
                    stack.push((v, depth + 1));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a literal value holding U+0000, without recursion.
pub(super) fn literal(value: &Value) -> Result<(), ServerError> {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) if s.contains('\0') => return Err(nul()),
            Value::List(items) => stack.extend(items),
            Value::Object(fields) => {
                for (key, v) in fields {
                    if key.contains('\0') {
                        return Err(nul());
                    }
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_nesting_skips_strings_and_comments() {
        let deep = "[".repeat(MAX_NESTING + 1);
        assert!(check_text(&format!("{{ a(x: {deep}) }}")).is_err());
        assert!(check_text(&format!("{{ a(x: \"{deep}\") }}")).is_ok());
        assert!(check_text(&format!("{{ a(x: \"\"\"{deep}\\\"\"\"{deep}\"\"\") }}")).is_ok());
        assert!(check_text(&format!("{{ a # {deep}\n }}")).is_ok());
        // An escaped quote does not end the string; a line break does.
        assert!(check_text(&format!("{{ a(x: \"\\\"{deep}\") }}")).is_ok());
        assert!(check_text(&format!("{{ a(x: \"\n{deep}\") }}")).is_err());
        assert!(check_text("{ a(x: \"\0\") }").is_err());
    }
}
