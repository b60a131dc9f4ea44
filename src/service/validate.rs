//! Input rules shared by services. Each check returns the cleaned value or a
//! BAD_USER_INPUT naming the field.

use chrono::{DateTime, Datelike, FixedOffset};

use crate::error::{ApiError, ApiResult};

pub use crate::store::YEARS;

pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=32;
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=128;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const EMAIL_MAX: usize = 254;

/// 3-32 of `a-z 0-9 _`, compared and stored lowercase.
pub fn username(field: &str, raw: &str) -> ApiResult<String> {
    let name = raw.trim().to_lowercase();
    if !USERNAME_LEN.contains(&name.chars().count()) {
        return Err(ApiError::bad_input(
            field,
            "username must be 3 to 32 characters",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::bad_input(
            field,
            "username may contain only letters a-z, digits and _",
        ));
    }
    Ok(name)
}

/// A plausible address (`local@domain.tld`, no spaces), stored lowercase.
pub fn email(field: &str, raw: &str) -> ApiResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= EMAIL_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(ApiError::bad_input(field, "not a valid email address"))
    }
}

/// 8-128 characters; kept exactly as typed.
pub fn password(field: &str, raw: &str) -> ApiResult<()> {
    if PASSWORD_LEN.contains(&raw.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            field,
            "password must be 8 to 128 characters",
        ))
    }
}

/// 1-64 printable characters after trimming.
pub fn display_name(field: &str, raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX {
        return Err(ApiError::bad_input(
            field,
            "display name must be 1 to 64 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            field,
            "display name may not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A time in [`YEARS`], else BAD_USER_INPUT on `field`.
pub fn time(field: &str, at: DateTime<FixedOffset>) -> ApiResult<DateTime<FixedOffset>> {
    if YEARS.contains(&at.naive_utc().year()) {
        Ok(at)
    } else {
        Err(ApiError::bad_input(
            field,
            format!(
                "{field} must fall in the years {} to {} (UTC)",
                YEARS.start(),
                YEARS.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username("u", "  Ann_1 ").ok().as_deref(), Some("ann_1"));
        assert!(username("u", "ab").is_err());
        assert!(username("u", &"a".repeat(33)).is_err());
        assert!(username("u", "ann-b").is_err());
        assert!(username("u", "änn").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            email("e", " Ann@Example.COM ").ok().as_deref(),
            Some("ann@example.com")
        );
        for bad in [
            "ann", "ann@", "@x.io", "a b@x.io", "a@x", "a@@x.io", "a@.x", "a@x.",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_and_names() {
        assert!(password("p", "short").is_err());
        assert!(password("p", "long enough").is_ok());
        assert!(display_name("d", "  ").is_err());
        assert_eq!(display_name("d", " Ann ").ok().as_deref(), Some("Ann"));
        assert!(display_name("d", "a\u{0}b").is_err());
    }

    #[test]
    fn times() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        assert!(time("t", at("0001-01-01T00:00:00Z")).is_ok());
        assert!(time("t", at("9999-12-31T23:59:59Z")).is_ok());
        assert!(time("t", at("0001-01-01T00:30:00+01:00")).is_err());
        assert!(time("t", at("0000-12-31T23:59:59Z")).is_err());
        let far = DateTime::from_timestamp(i64::from(i32::MAX) * 200, 0).unwrap();
        assert!(time("t", far.fixed_offset()).is_err());
    }
}
