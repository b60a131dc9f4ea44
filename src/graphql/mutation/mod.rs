//! The Mutation root, merged from one object per domain.

use async_graphql::MergedObject;

mod account;
mod admin;
mod blob;
mod call;
mod contact;
mod deletion;
mod message;
mod mls;
mod oidc;
mod realtime;
mod recovery;
mod room;
mod session_cookie;
mod two_factor;

/// Writes. Each takes its arguments or one `input` object; errors carry `extensions.code`.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    room::RoomMutation,
    message::MessageMutation,
    realtime::RealtimeMutation,
    contact::ContactMutation,
    mls::MlsMutation,
    blob::BlobMutation,
    call::CallMutation,
    admin::AdminMutation,
    two_factor::TwoFactorMutation,
    recovery::RecoveryMutation,
    oidc::OidcMutation,
    deletion::DeletionMutation,
);
