//! What a room is given: its name, topic, member cap and join code, checked and cleaned.

use rand::Rng;

use crate::error::{ApiError, ApiResult};

pub const NAME_MAX: usize = 100;
pub const TOPIC_MAX: usize = 1_000;
pub const MEMBERS_LIMIT: i32 = 10_000;

/// Join codes avoid look-alikes (0/O, 1/I/L) so they survive being read aloud.
pub const JOIN_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const JOIN_CODE_LEN: usize = 6;

/// A join code as typed by a person: trimmed, any case; BAD_USER_INPUT unless it is six
/// characters of the join-code alphabet.
pub fn join_code(raw: &str) -> ApiResult<String> {
    let code = raw.trim().to_uppercase();
    if code.len() != JOIN_CODE_LEN || !code.bytes().all(|b| JOIN_CODE_ALPHABET.contains(&b)) {
        return Err(ApiError::bad_input(
            "code",
            "a join code is 6 letters and digits",
        ));
    }
    Ok(code)
}

pub fn new_join_code() -> String {
    let mut rng = rand::rng();
    (0..JOIN_CODE_LEN)
        .map(|_| JOIN_CODE_ALPHABET[rng.random_range(0..JOIN_CODE_ALPHABET.len())] as char)
        .collect()
}

pub(super) fn room_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ApiError::bad_input(
            "name",
            "a room name is 1 to 100 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            "name",
            "a room name may not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

pub(super) fn topic(raw: &str) -> ApiResult<String> {
    let topic = raw.trim();
    if topic.chars().count() > TOPIC_MAX {
        return Err(ApiError::bad_input(
            "topic",
            "a topic is at most 1,000 characters",
        ));
    }
    Ok(topic.to_owned())
}

pub(super) fn max_members(n: i32) -> ApiResult<i32> {
    if (2..=MEMBERS_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::bad_input(
            "maxMembers",
            "maxMembers is between 2 and 10,000",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_codes_use_the_unambiguous_alphabet() {
        for _ in 0..100 {
            let code = new_join_code();
            assert_eq!(code.len(), JOIN_CODE_LEN);
            assert!(
                code.bytes().all(|b| JOIN_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
        }
        for ambiguous in [b'0', b'O', b'1', b'I', b'L'] {
            assert!(!JOIN_CODE_ALPHABET.contains(&ambiguous));
        }
    }

    #[test]
    fn join_codes_as_typed() {
        assert_eq!(join_code(" abc234 ").ok().as_deref(), Some("ABC234"));
        for bad in [
            "", "ABC23", "ABC2345", "ABC-23", "O0O0O0", "ÄBC234", "abc 23",
        ] {
            assert!(join_code(bad).is_err(), "{bad:?}");
        }
    }
}
