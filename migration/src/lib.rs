//! Confab's schema, one migration per change: the single source of truth for the data model.
//!
//! Every migration is written with sea-query builders (raw SQL only where both backends share
//! the dialect), so the same files run on SQLite and PostgreSQL. `entity/` is generated from the
//! schema these produce; never edit it by hand.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_users;
mod m20261126_000002_create_sessions;
mod m20261126_000003_create_verification_tokens;
mod m20261126_000004_create_contacts;
mod m20261126_000005_create_blobs;
mod m20261126_000006_create_rooms;
mod m20261126_000007_create_messages;
mod m20261126_000008_create_room_members;
mod m20261126_000009_create_message_reactions;
mod m20261126_000010_create_attachments;
mod m20261126_000011_create_notifications;
mod m20261126_000012_create_key_packages;
mod m20261126_000013_create_connection_logs;
mod m20261126_000014_create_message_search;
mod m20261126_000015_create_blob_uploads;
mod m20261126_000016_index_retained_bodies;
mod m20261126_000017_index_member_markers;
mod m20261126_000018_cover_unread_counts;
mod m20261127_000019_search_pending_list;
mod m20261127_000020_hot_read_markers;
mod m20261128_000021_add_messages_reacted;
mod m20261128_000022_add_users_totp_last_step;
mod m20261206_000023_create_calls;
mod m20261206_000024_widen_call_leave_reasons;
mod m20261206_000025_add_connection_logs_call_session;
mod m20261206_000026_add_blob_uploads_filename_room;
mod m20261206_000028_create_room_member_stints;
mod m20261206_000029_search_language_english;
mod m20261206_000030_create_email_changes;
mod m20261206_000031_bans_and_audit_events;
mod m20261206_000032_create_recovery_codes;
mod m20261206_000033_create_oidc;
mod m20261206_000036_count_unread_by_seq;
mod m20261206_000037_add_messages_fts_room;
mod m20261207_000038_create_search_documents;
mod util;

/// SQLite's full-text index for a language, and the token naming a room in its `room` column.
pub use m20261206_000037_add_messages_fts_room::{
    room_token as search_room_token, sqlite_index as search_index_sqlite,
};
/// The statements that make PostgreSQL's search documents in a language (the server makes them
/// again at start-up when `--search-language` differs from the one they were made in), and
/// the fill of an empty `search_documents` (the benchmark seed's).
pub use m20261207_000038_create_search_documents::{
    FILL as search_documents_fill, postgres_documents as search_documents_postgres,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_users::Migration),
            Box::new(m20261126_000002_create_sessions::Migration),
            Box::new(m20261126_000003_create_verification_tokens::Migration),
            Box::new(m20261126_000004_create_contacts::Migration),
            Box::new(m20261126_000005_create_blobs::Migration),
            Box::new(m20261126_000006_create_rooms::Migration),
            Box::new(m20261126_000007_create_messages::Migration),
            Box::new(m20261126_000008_create_room_members::Migration),
            Box::new(m20261126_000009_create_message_reactions::Migration),
            Box::new(m20261126_000010_create_attachments::Migration),
            Box::new(m20261126_000011_create_notifications::Migration),
            Box::new(m20261126_000012_create_key_packages::Migration),
            Box::new(m20261126_000013_create_connection_logs::Migration),
            Box::new(m20261126_000014_create_message_search::Migration),
            Box::new(m20261126_000015_create_blob_uploads::Migration),
            Box::new(m20261126_000016_index_retained_bodies::Migration),
            Box::new(m20261126_000017_index_member_markers::Migration),
            Box::new(m20261126_000018_cover_unread_counts::Migration),
            Box::new(m20261127_000019_search_pending_list::Migration),
            Box::new(m20261127_000020_hot_read_markers::Migration),
            Box::new(m20261128_000021_add_messages_reacted::Migration),
            Box::new(m20261128_000022_add_users_totp_last_step::Migration),
            Box::new(m20261206_000023_create_calls::Migration),
            Box::new(m20261206_000024_widen_call_leave_reasons::Migration),
            Box::new(m20261206_000025_add_connection_logs_call_session::Migration),
            Box::new(m20261206_000026_add_blob_uploads_filename_room::Migration),
            Box::new(m20261206_000028_create_room_member_stints::Migration),
            Box::new(m20261206_000029_search_language_english::Migration),
            Box::new(m20261206_000030_create_email_changes::Migration),
            Box::new(m20261206_000031_bans_and_audit_events::Migration),
            Box::new(m20261206_000032_create_recovery_codes::Migration),
            Box::new(m20261206_000033_create_oidc::Migration),
            Box::new(m20261206_000036_count_unread_by_seq::Migration),
            Box::new(m20261206_000037_add_messages_fts_room::Migration),
            Box::new(m20261207_000038_create_search_documents::Migration),
        ]
    }
}
