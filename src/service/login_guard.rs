//! Password guessing at sign-in, bounded so that a stranger cannot lock the owner out.
//!
//! Three counts, all in the rate limiter (so shared by every instance through Redis):
//! - per client address: attempts per minute (`--rate-login-per-minute`, in `account::login`);
//! - per (account, address): after `--rate-login-failures` failures that address is refused
//!   for [`LOCKOUT`], even with the right password: the guesser is stopped where it guesses;
//! - per account, from every address: past `--rate-login-failures` failures the account backs
//!   off: an address that never signed in to it must wait 30 s, doubled with each further
//!   failure ([`backoff`]), up to [`LOCKOUT`], and its attempt is refused RATE_LIMITED with
//!   `retryAfter` meanwhile. An address the account has signed in
//!   from before (a session row with that `ip`, `sessions.ip`) is not held back: the owner at
//!   home or at work signs in at once while a guesser elsewhere waits.
//!
//! A login that names no account is counted by itself (a hash of it), with the same answers
//! and the same work, so the counts tell nobody whether an account exists. The sign-in lock of
//! a session holder's own guesses (`changePassword`, two-factor changes) is
//! [`super::security::Lockout`], which sign-in also honours.

use std::time::Duration;

use entity::sessions;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long an (account, address) pair stays refused after its failures.
pub use super::security::LOCKOUT;

/// How long the per-account failures are remembered (from the first): a day, so that a guesser
/// spread over many addresses keeps waiting the longest back-off instead of starting over.
pub const ACCOUNT_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The first back-off, doubled with each further failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);

/// The wait an unknown address must keep after the account's `failures`, once they reach
/// `threshold`: [`BACKOFF_BASE`], doubling with each further failure, at most [`LOCKOUT`]
/// (30 s, 1, 2, 4, 8 minutes, then 15).
pub fn backoff(failures: u32, threshold: u32) -> Option<Duration> {
    let past = failures.checked_sub(threshold)?;
    let factor = 1u32.checked_shl(past.min(16)).unwrap_or(u32::MAX);
    Some(BACKOFF_BASE.saturating_mul(factor).min(LOCKOUT))
}

/// The guard of one sign-in attempt: which account (or unknown login) from which address.
pub struct LoginGuard<'a> {
    state: &'a AppState,
    account: Option<Uuid>,
    /// The account, or the hash of a login that names none.
    subject: String,
    address: String,
}

impl<'a> LoginGuard<'a> {
    pub fn new(state: &'a AppState, account: Option<Uuid>, login: &str, ip: Option<&str>) -> Self {
        let subject = match account {
            Some(id) => format!("account:{id}"),
            None => format!("login:{}", auth::hash_token(login)),
        };
        Self {
            state,
            account,
            subject,
            address: ip.unwrap_or("-").to_owned(),
        }
    }

    fn pair_key(&self) -> String {
        format!("login-failures:{}:ip:{}", self.subject, self.address)
    }

    fn account_key(&self) -> String {
        format!("login-failures-all:{}", self.subject)
    }

    fn backoff_key(&self) -> String {
        format!("login-backoff:{}", self.subject)
    }

    fn threshold(&self) -> u32 {
        self.state.config.limits.login_failures
    }

    /// RATE_LIMITED (with the seconds to wait) when this attempt may not be tried now: its
    /// address guessed too often at this account, or the account backs off and this address
    /// never signed in to it.
    pub async fn check(&self) -> ApiResult<()> {
        let limiter = &self.state.limiter;
        limiter
            .check(&self.pair_key(), self.threshold(), LOCKOUT)
            .await?;
        if let Some(secs) = limiter.held(&self.backoff_key()).await
            && !self.known_address().await?
        {
            return Err(ApiError::RateLimited {
                retry_after_secs: secs,
            });
        }
        Ok(())
    }

    /// Counts a failed attempt (wrong password or code) for the pair and the account, and
    /// starts or lengthens the account's back-off once past the threshold.
    pub async fn failed(&self) {
        let limiter = &self.state.limiter;
        limiter.add(&self.pair_key(), LOCKOUT).await;
        let failures = limiter.add(&self.account_key(), ACCOUNT_WINDOW).await;
        if let Some(wait) = backoff(failures, self.threshold()) {
            limiter.hold(&self.backoff_key(), wait).await;
        }
    }

    /// A success forgets this address's failures; the account's back-off runs out by itself,
    /// so the owner signing in does not reopen the account to a guesser elsewhere.
    pub async fn succeeded(&self) {
        self.state.limiter.reset(&self.pair_key()).await;
    }

    /// Whether the account was signed in to from this address before. The same query runs for
    /// a login that names no account (and finds nothing), so timing tells nothing.
    async fn known_address(&self) -> ApiResult<bool> {
        if self.address == "-" {
            return Ok(false);
        }
        let found = sessions::Entity::find()
            .filter(sessions::Column::UserId.eq(self.account.unwrap_or(Uuid::nil())))
            .filter(sessions::Column::Ip.eq(self.address.as_str()))
            .count(&self.state.db)
            .await?;
        Ok(found > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::{LOCKOUT, backoff};
    use std::time::Duration;

    #[test]
    fn the_backoff_doubles_up_to_the_lockout() {
        assert_eq!(backoff(4, 5), None);
        assert_eq!(backoff(5, 5), Some(Duration::from_secs(30)));
        assert_eq!(backoff(6, 5), Some(Duration::from_secs(60)));
        assert_eq!(backoff(9, 5), Some(Duration::from_secs(480)));
        assert_eq!(backoff(10, 5), Some(LOCKOUT));
        assert_eq!(backoff(40, 5), Some(LOCKOUT));
        assert_eq!(backoff(u32::MAX, 5), Some(LOCKOUT));
    }
}
