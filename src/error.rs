//! One error type for the whole server, mapped to the `extensions.code` set clients rely on.
//!
//! Services return [`ApiError`]; resolvers turn it into a GraphQL error with `?`. It has no
//! `Display` on purpose: async-graphql converts anything displayable into an error without a
//! code, so this type's only way out is the conversion below, which always sets one. Database and
//! other internal failures are logged here (inside the request's span, which carries the request
//! id) and reach the client only as `INTERNAL` with that id, never with SQL or a backtrace.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

pub type ApiResult<T> = Result<T, ApiError>;

/// The message of UNAUTHENTICATED for a request without a (valid) session (`auth::require`);
/// such errors carry `extensions.reason`, which HTTP sets to why the token was refused.
pub const SIGN_IN_FIRST: &str = "sign in first";

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput {
        field: String,
        message: String,
    },
    /// BAD_USER_INPUT for several fields at once (`register`): `extensions.field` names the
    /// first, `extensions.fields` lists each `{ field, message }`.
    InvalidFields(Vec<(String, String)>),
    Conflict(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// FORBIDDEN with `reason: "BANNED"` and `bannedUntil` (RFC 3339, null for a permanent
    /// ban): the account is banned.
    Banned {
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// PROVIDER_UNAVAILABLE: an OpenID provider could not be reached (or answered nonsense);
    /// trying again later may work.
    ProviderUnavailable(String),
    /// STORAGE_UNAVAILABLE: the blob store (`--blob-store`) could not be reached or refused;
    /// trying again later may work. The cause is logged, never sent.
    StorageUnavailable(crate::blobstore::StoreError),
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// One error for every check that failed: the only one as it is, several BAD_USER_INPUT
    /// as [`InvalidFields`](Self::InvalidFields); any other kind wins over bad input.
    pub fn all(mut errors: Vec<ApiError>) -> Option<Self> {
        if errors.len() <= 1 {
            return errors.pop();
        }
        let mut fields = Vec::with_capacity(errors.len());
        for error in errors {
            match error {
                Self::BadUserInput { field, message } => fields.push((field, message)),
                other => return Some(other),
            }
        }
        Some(Self::InvalidFields(fields))
    }

    /// A row that another row points at is gone: our fault, never the client's.
    pub fn broken(what: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("broken reference: {what}"))
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::ProviderUnavailable(m) => m.clone(),
            Self::BadUserInput { message, .. } => message.clone(),
            Self::InvalidFields(fields) => fields
                .iter()
                .map(|(_, message)| message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            Self::RateLimited { retry_after_secs } => {
                format!("too many requests, retry in {retry_after_secs}s")
            }
            Self::Banned { until: Some(until) } => {
                format!("this account is banned until {}", until.to_rfc3339())
            }
            Self::Banned { until: None } => "this account is banned".to_owned(),
            Self::StorageUnavailable(_) => {
                "file storage is unavailable right now; try again later".to_owned()
            }
            Self::Internal(_) => "internal error".to_owned(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) | Self::Banned { .. } => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } | Self::InvalidFields(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::ProviderUnavailable(_) => "PROVIDER_UNAVAILABLE",
            Self::StorageUnavailable(_) => "STORAGE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match err {
            DbErr::RecordNotFound(what) => Self::NotFound(format!("{what} not found")),
            err => match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    tracing::debug!(error = %err, "unique violation");
                    Self::Conflict("that already exists".to_owned())
                }
                _ => Self::Internal(err.into()),
            },
        }
    }
}

impl From<crate::blobstore::StoreError> for ApiError {
    fn from(err: crate::blobstore::StoreError) -> Self {
        Self::StorageUnavailable(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.extend()
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(source) = self {
            tracing::error!(error = ?source, "internal error");
        }
        if let Self::StorageUnavailable(source) = self {
            tracing::warn!(error = %source, "blob store unavailable");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                Self::InvalidFields(fields) => {
                    if let Some((first, _)) = fields.first() {
                        ext.set("field", first.as_str());
                    }
                    let list: Vec<async_graphql::Value> = fields
                        .iter()
                        .map(|(field, message)| {
                            let mut entry = async_graphql::indexmap::IndexMap::new();
                            entry.insert(
                                async_graphql::Name::new("field"),
                                async_graphql::Value::from(field.as_str()),
                            );
                            entry.insert(
                                async_graphql::Name::new("message"),
                                async_graphql::Value::from(message.as_str()),
                            );
                            async_graphql::Value::Object(entry)
                        })
                        .collect();
                    ext.set("fields", list);
                }
                Self::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
                Self::Banned { until } => {
                    ext.set("reason", "BANNED");
                    ext.set("bannedUntil", until.map(|at| at.to_rfc3339()));
                }
                // No session: `missing` until the transport says why a token it was given
                // was refused (`expired`, `revoked`, `invalid`: http::graphql).
                Self::Unauthenticated(message) if message == SIGN_IN_FIRST => {
                    ext.set("reason", "missing");
                }
                _ => {}
            }
        })
    }
}
