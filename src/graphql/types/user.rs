//! Users, sessions and what signing in returns.

use std::sync::Arc;

use async_graphql::parser::types::{Field, SelectionSet};
use async_graphql::{
    Context, ContextSelectionSet, DataContext, Enum, Object, Result, SimpleObject, Value,
};
use chrono::{DateTime, Utc};
use entity::{sessions, users};
use uuid::Uuid;

use super::{cursor, utc};
use crate::auth;
use crate::graphql::fastpath::{self, FastPath};
use crate::graphql::loaders::Connected;
use crate::graphql::loaders::voice::PresenceContextOf;
use crate::graphql::query::room::{RoomConnection, rooms_of};
use crate::graphql::{load, state, viewer};
use crate::service::presence;
use crate::store::kinds;
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

/// What a user may do beyond their own data.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum UserRole {
    /// An ordinary account.
    User,
    /// May moderate and see instance-wide views.
    Admin,
}

/// The availability a user last chose.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum UserStatus {
    /// Available.
    Online,
    /// Signed in but not at the keyboard.
    Away,
    /// Not available.
    Offline,
}

impl UserStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "online" => Self::Online,
            "away" => Self::Away,
            _ => Self::Offline,
        }
    }
}

/// A person with an account.
#[derive(Clone)]
pub struct User {
    /// Shared: a sender or member that came with its message or membership becomes a User
    /// without copying its row.
    model: Arc<users::Model>,
    /// Set where the user is known to be the caller before a viewer exists (sign-in payloads).
    own: bool,
}

impl User {
    pub fn new(model: users::Model) -> Self {
        Self::shared(Arc::new(model))
    }

    pub fn shared(model: Arc<users::Model>) -> Self {
        Self { model, own: false }
    }

    /// The caller's own account, with private fields visible.
    pub fn own(model: users::Model) -> Self {
        Self {
            model: Arc::new(model),
            own: true,
        }
    }

    fn is_viewer<'a>(&self, ctx: &impl DataContext<'a>) -> bool {
        self.own || viewer(ctx).is_some_and(|v| v.id() == self.model.id)
    }

    fn own_email<'a>(&self, ctx: &impl DataContext<'a>) -> Option<&str> {
        self.is_viewer(ctx).then_some(self.model.email.as_str())
    }

    fn own_status<'a>(&self, ctx: &impl DataContext<'a>) -> Option<UserStatus> {
        self.is_viewer(ctx)
            .then(|| UserStatus::from_db(&self.model.status))
    }

    fn own_email_verified<'a>(&self, ctx: &impl DataContext<'a>) -> Option<bool> {
        self.is_viewer(ctx)
            .then_some(self.model.email_verified_at.is_some())
    }

    fn own_two_factor<'a>(&self, ctx: &impl DataContext<'a>) -> Option<bool> {
        self.is_viewer(ctx)
            .then_some(self.model.totp_enabled_at.is_some())
    }

    fn role_of(&self) -> UserRole {
        if self.model.role == kinds::UserRole::Admin {
            UserRole::Admin
        } else {
            UserRole::User
        }
    }
}

impl FastPath for User {
    type Loaded = ();

    fn writes(_: &ContextSelectionSet<'_>, field: &Field) -> bool {
        matches!(
            field.name.node.as_str(),
            "id" | "username"
                | "displayName"
                | "email"
                | "role"
                | "chosenStatus"
                | "lastSeenAt"
                | "emailVerified"
                | "twoFactorEnabled"
                | "avatarBlobId"
                | "createdAt"
                | "deleted"
        )
    }

    async fn load(&self, _: &ContextSelectionSet<'_>, _: &SelectionSet) -> Option<()> {
        Some(())
    }

    fn field(&self, ctx: &ContextSelectionSet<'_>, (): &(), field: &Field) -> Option<Value> {
        let m = &self.model;
        Some(match field.name.node.as_str() {
            "id" => fastpath::scalar(&m.id),
            "username" => Value::String(m.username.clone()),
            "displayName" => Value::String(m.display_name.clone()),
            "email" => fastpath::text(self.own_email(ctx)),
            "role" => self.role_of().into(),
            "chosenStatus" => self.own_status(ctx).map_or(Value::Null, Value::from),
            "lastSeenAt" => fastpath::nullable(m.last_seen_at.map(utc).as_ref()),
            "emailVerified" => self
                .own_email_verified(ctx)
                .map_or(Value::Null, Value::Boolean),
            "twoFactorEnabled" => self.own_two_factor(ctx).map_or(Value::Null, Value::Boolean),
            "avatarBlobId" => fastpath::text(m.avatar_blob_id.as_deref()),
            "createdAt" => fastpath::scalar(&utc(m.created_at)),
            "deleted" => Value::Boolean(m.deleted_at.is_some()),
            _ => return None,
        })
    }
}

/// A person with an account.
// Serial: async-graphql resolves an object's fields through a FuturesUnordered made for that
// object unless told otherwise, and this type, RoomMember and ReactionGroup are listed by the
// hundred (the nested benchmark has ~1,000 of them per answer). Serial is for types whose
// fields are ready at once or wait on one loader, so nothing waits longer for them: here all
// but `status` (one loader) and `rooms`.
#[Object(serial)]
impl User {
    /// Stable id (UUID v7).
    async fn id(&self) -> Uuid {
        self.model.id
    }

    /// Unique handle: 3-32 of a-z, 0-9 and _, lowercase.
    async fn username(&self) -> &str {
        &self.model.username
    }

    /// The name shown in the interface.
    async fn display_name(&self) -> &str {
        &self.model.display_name
    }

    /// The address the account signs in with; visible only to its owner (null for everyone else).
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.own_email(ctx)
    }

    /// USER or ADMIN.
    async fn role(&self) -> UserRole {
        self.role_of()
    }

    /// Presence: the availability the user chose while they have a socket open, OFFLINE
    /// otherwise (choosing OFFLINE makes one invisible).
    async fn status(&self, ctx: &Context<'_>) -> Result<UserStatus> {
        let connected = load(ctx, Connected(self.model.id)).await?.unwrap_or(false);
        Ok(UserStatus::from_db(presence::effective(
            &self.model.status,
            connected,
        )))
    }

    /// The short context the user shares with their presence (where they are, what they are
    /// on; `updateProfile(input: { presenceContext })`), while they are connected and visible;
    /// null otherwise. Never stored: it lasts while they stay connected.
    async fn presence_context(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let connected = load(ctx, Connected(self.model.id)).await?.unwrap_or(false);
        if presence::effective(&self.model.status, connected) == "offline" {
            return Ok(None);
        }
        Ok(load(ctx, PresenceContextOf(self.model.id)).await?)
    }

    /// The availability the user chose (visible to the owner only).
    async fn chosen_status(&self, ctx: &Context<'_>) -> Option<UserStatus> {
        self.own_status(ctx)
    }

    /// When the user was last connected; null if never.
    async fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        self.model.last_seen_at.map(utc)
    }

    /// Whether the owner has confirmed the email address (visible to the owner only).
    async fn email_verified(&self, ctx: &Context<'_>) -> Option<bool> {
        self.own_email_verified(ctx)
    }

    /// Whether two-factor sign-in is on (`confirmTotp`; off again with `disableTotp`): visible
    /// to the owner only, null for others.
    async fn two_factor_enabled(&self, ctx: &Context<'_>) -> Option<bool> {
        self.own_two_factor(ctx)
    }

    /// Content address of the avatar image, if one is set.
    async fn avatar_blob_id(&self) -> Option<&str> {
        self.model.avatar_blob_id.as_deref()
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.model.created_at)
    }

    /// Whether the account was deleted (`deleteAccount`): its messages stay, shown from
    /// "Deleted user", with nothing else of the person left.
    async fn deleted(&self) -> bool {
        self.model.deleted_at.is_some()
    }

    /// Rooms this user belongs to that the caller belongs to as well (all of the caller's
    /// own rooms on `me`), newest activity first. At most 100 a page.
    #[graphql(
        complexity = "first.unwrap_or(DEFAULT_PAGE as i32).clamp(1, MAX_PAGE as i32) as usize * child_complexity"
    )]
    async fn rooms(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Continue after this cursor.")] after: Option<String>,
    ) -> Result<RoomConnection> {
        let viewer = auth::require(viewer(ctx))?;
        let page = cursor::forward(first, after.as_deref())?;
        // Boxed: every field of a User is resolved in a future as large as its largest
        // field's, and this one is larger than all the others together.
        Ok(Box::pin(rooms_of(state(ctx)?, viewer, self.model.id, page, None)).await?)
    }
}

/// One signed-in device or browser.
pub struct Session(pub sessions::Model);

/// One signed-in device or browser.
#[Object]
impl Session {
    /// Session id; pass it to `revokeSession`.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// The User-Agent the session signed in with.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// The client address the session signed in from.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }

    /// When the session was opened.
    async fn created_at(&self) -> DateTime<Utc> {
        utc(self.0.created_at)
    }

    /// Last request made with the session (recorded to the minute).
    async fn last_active_at(&self) -> DateTime<Utc> {
        utc(self.0.last_active_at)
    }

    /// When the session stops being accepted.
    async fn expires_at(&self) -> DateTime<Utc> {
        utc(self.0.expires_at)
    }

    /// True for the session making this request.
    async fn current(&self, ctx: &Context<'_>) -> bool {
        viewer(ctx).is_some_and(|v| v.session_id == self.0.id)
    }
}

/// A new session. The token is shown only here: send it as `Authorization: Bearer <token>`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Bearer token for HTTP requests and the WebSocket `connection_init` payload; the empty
    /// string when the session went into the `confab_session` cookie (`cookie: true`), which
    /// page scripts cannot read.
    pub token: String,
    /// The signed-in user.
    pub user: User,
    /// The session the token belongs to.
    pub session: Session,
}
