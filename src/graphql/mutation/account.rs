//! Registration, sign-in and profile changes.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use uuid::Uuid;

use super::session_cookie;
use crate::auth;
use crate::graphql::types::{AuthPayload, User, UserStatus};
use crate::graphql::{client, client_ip, state, viewer};
use crate::service;

/// A new account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// 3-32 of a-z, 0-9 and _ (stored lowercase).
    pub username: String,
    /// A unique email address.
    pub email: String,
    /// 8-128 characters.
    pub password: String,
    /// Shown in the interface; the username when omitted.
    pub display_name: Option<String>,
    /// Put the session in an HttpOnly cookie instead of answering the token (servers with
    /// `--cookie-sessions`; see `LoginInput.cookie`).
    pub cookie: Option<bool>,
}

/// Credentials for `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Username or email address.
    pub login: String,
    /// The account's password.
    pub password: String,
    /// The current code of the authenticator app, when two-factor sign-in is on.
    pub totp_code: Option<String>,
    /// One of the account's unused recovery codes, in place of `totpCode` (each works once).
    pub recovery_code: Option<String>,
    /// Put the session in an HttpOnly `confab_session` cookie instead of answering the token
    /// (`AuthPayload.token` is then the empty string): for browsers, on servers with `--cookie-sessions`,
    /// over HTTP only. Requests signed in by the cookie must be POSTs with `Content-Type:
    /// application/json` (or an `X-Confab-CSRF` header) from Confab's own origin or a
    /// `--cors-origins` one; FORBIDDEN (`reason: "csrf"`) otherwise.
    pub cookie: Option<bool>,
}

/// A new password.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password now.
    pub current_password: String,
    /// 8-128 characters.
    pub new_password: String,
}

/// What an authenticator app needs.
#[derive(SimpleObject)]
pub struct TotpSetup {
    /// The shared secret, base32 (type it in by hand).
    pub secret: String,
    /// An `otpauth://` URI (show it as a QR code).
    pub otpauth_uri: String,
}

/// Changes to the caller's profile; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// 1-64 characters.
    pub display_name: Option<String>,
    /// The availability to show others.
    pub status: Option<UserStatus>,
    /// A blob id for the avatar; null removes it.
    pub avatar_blob_id: MaybeUndefined<String>,
    /// A short context to share with your presence (where you are, what you are on): at most
    /// 64 characters after trimming, one line; null or empty stops sharing. Kept only while you
    /// stay connected (never in the database), shown as `User.presenceContext` and in
    /// `PresenceChanged` while you are visible.
    pub presence_context: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: RegisterInput,
    ) -> Result<AuthPayload> {
        let to_cookie = session_cookie::wanted(ctx, input.cookie)?;
        let input = service::account::RegisterInput {
            username: input.username,
            email: input.email,
            password: input.password,
            display_name: input.display_name,
        };
        let signed_in = service::account::register(state(ctx)?, input, client(ctx)).await?;
        session_cookie::payload(ctx, signed_in, to_cookie)
    }

    /// Signs in with a username or email and a password; opens a new session.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: LoginInput,
    ) -> Result<AuthPayload> {
        let to_cookie = session_cookie::wanted(ctx, input.cookie)?;
        let input = service::account::LoginInput {
            login: input.login,
            password: input.password,
            totp_code: input.totp_code,
            recovery_code: input.recovery_code,
        };
        let signed_in = service::account::login(state(ctx)?, input, client(ctx)).await?;
        session_cookie::payload(ctx, signed_in, to_cookie)
    }

    /// Revokes the session making this request, and removes the session cookie when the
    /// request carried one.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        session_cookie::clear(ctx);
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::account::logout(state(ctx)?, viewer, client_ip(ctx).as_deref()).await?)
    }

    /// Revokes one of the caller's sessions (sign out another device).
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The session, from `sessions`.")] id: Uuid,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::account::revoke(state(ctx)?, viewer, id, client_ip(ctx).as_deref()).await?)
    }

    /// Mails the caller a token confirming their email address (logged when no mailer is set).
    async fn request_email_verification(&self, ctx: &Context<'_>) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::security::request_email_verification(state(ctx)?, viewer).await?)
    }

    /// Confirms an email address with the mailed token (single use, 24 hours).
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the mail.")] token: String,
    ) -> Result<User> {
        let user =
            service::security::verify_email(state(ctx)?, &token, client_ip(ctx).as_deref()).await?;
        Ok(User::new(user))
    }

    /// Starts two-factor sign-in: a secret for an authenticator app, active after `confirmTotp`.
    async fn enable_totp(&self, ctx: &Context<'_>) -> Result<TotpSetup> {
        let viewer = auth::require(viewer(ctx))?;
        let (secret, otpauth_uri) = service::security::enable_totp(state(ctx)?, viewer).await?;
        Ok(TotpSetup {
            secret,
            otpauth_uri,
        })
    }

    /// Turns two-factor sign-in on with a current code from the app; login then needs `totpCode`.
    async fn confirm_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A current code from the authenticator app.")] code: String,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(User::own(
            service::security::confirm_totp(state(ctx)?, viewer, &code, client_ip(ctx).as_deref())
                .await?,
        ))
    }

    /// Changes the caller's password; signs out every other session.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: ChangePasswordInput,
    ) -> Result<bool> {
        let viewer = auth::require(viewer(ctx))?;
        Ok(service::security::change_password(
            state(ctx)?,
            viewer,
            input.current_password,
            input.new_password,
            client_ip(ctx).as_deref(),
        )
        .await?)
    }

    /// Changes the caller's display name, status, avatar or presence context.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateProfileInput,
    ) -> Result<User> {
        let viewer = auth::require(viewer(ctx))?;
        let input = service::user::UpdateProfileInput {
            display_name: input.display_name,
            status: input.status.map(|s| s.as_db().to_owned()),
            avatar_blob_id: super::room::maybe(input.avatar_blob_id),
            presence_context: super::room::maybe(input.presence_context),
        };
        let user = service::user::update_profile(state(ctx)?, viewer, input).await?;
        Ok(User::own(user))
    }
}
