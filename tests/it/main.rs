#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Confab's integration suite: one binary that starts the real server on a free port and speaks
//! HTTP to it, against SQLite always and PostgreSQL when `CONFAB_TEST_POSTGRES_URL` is set.
//! Every test gets a fresh database of its own.

mod oidc;
mod util;
mod wsclient;

mod account_changes;
mod admin;
mod app_notifications;
mod auth;
mod authz;
mod balancer;
mod blobs;
mod broken;
mod call_events;
mod call_history;
mod calls;
mod catch_up;
mod cluster;
mod config_doc;
mod contacts;
mod cookies;
mod corpus;
mod cors;
mod deletion;
mod demo;
mod durability;
mod error_experience;
mod errors;
mod export;
mod exposure;
mod fastpath;
mod hostile;
mod housekeeping;
mod http;
mod ice;
mod layers;
mod limits;
mod loaders;
mod lockout;
mod mail;
mod messages;
mod migrations;
mod mls;
mod mls_reads;
mod moderation;
mod otel;
mod process;
mod realtime;
mod receipts;
mod recovery_codes;
mod replicas;
mod rooms;
mod rows;
mod schema;
mod search;
mod search_language;
mod security;
mod seed_bench;
mod spec_http;
mod spec_ws;
mod uploads;
mod voice_room;
mod wire;
