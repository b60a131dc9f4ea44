//! The benchmark data's rows, one function per table, with the formulas of
//! `../shared/bench-peer/seed.sql`. At scale N the data is N blocks: block `b` is the
//! harness's data (2,000 users, 500 rooms, 200,000 messages) with every index offset by
//! `b` blocks, so the users, rooms and answers of block 0 (the only ones the harness's
//! workloads and verify.py use) are the same at every scale. Ids, names and timestamps follow
//! the global index (`user10042`, message `i` at 2025-01-01 + `i` minutes); membership,
//! senders, deletions and reactions follow the index within the block.

use chrono::{DateTime, Duration, FixedOffset};
use uuid::Uuid;

use crate::auth;
use crate::store::kinds::UserRole;

/// Users in one block (`seed.sql`'s 2,000).
pub const USERS: u64 = 2_000;
/// Rooms in one block.
pub const ROOMS: u64 = 500;
/// Members of every room.
pub const MEMBERS: u64 = 10;
/// Messages in one block (400 per room).
pub const MESSAGES: u64 = 200_000;
/// Every sixth message has reactions (`i % 6 = 0` in seed.sql).
pub const REACTED_EVERY: u64 = 6;
const NAMES: [&str; 8] = [
    "Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
];
const EMOJI: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];

/// How many times the harness's data: `--scale`.
#[derive(Debug, Clone, Copy)]
pub struct Scale(pub u64);

impl Scale {
    pub fn users(self) -> u64 {
        USERS * self.0
    }
    pub fn rooms(self) -> u64 {
        ROOMS * self.0
    }
    pub fn messages(self) -> u64 {
        MESSAGES * self.0
    }
}

/// The start of each table's timestamps in seed.sql.
pub struct Epochs {
    pub users: DateTime<FixedOffset>,
    pub rooms: DateTime<FixedOffset>,
    pub messages: DateTime<FixedOffset>,
    /// Sessions are made now and last a year.
    pub now: DateTime<FixedOffset>,
}

impl Epochs {
    pub fn new() -> anyhow::Result<Self> {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s);
        Ok(Self {
            users: utc("2024-01-01T00:00:00Z")?,
            rooms: utc("2024-06-01T00:00:00Z")?,
            messages: utc("2025-01-01T00:00:00Z")?,
            now: crate::db::now(),
        })
    }
}

fn id(prefix: u64, n: u64) -> Uuid {
    Uuid::from_u64_pair(0x0000_0000_0000_4000, (prefix << 48) | n)
}

/// The benchmark's user `u`.
pub fn user_id(u: u64) -> Uuid {
    id(0x8000, u)
}

/// The benchmark's room `r`.
pub fn room_id(r: u64) -> Uuid {
    id(0x9000, r)
}

/// Member `k` of room `r` (k = 0 is the owner): a user of the room's block.
pub fn member(r: u64, k: u64) -> u64 {
    let (block, r) = (r / ROOMS, r % ROOMS);
    block * USERS + ((r * 10 + k) * 7 + r / 200) % USERS
}

/// Message `i`: `md5('message:' || i)::uuid`.
pub fn message_id(i: u64) -> Uuid {
    use md5::Digest;
    Uuid::from_bytes(md5::Md5::digest(format!("message:{i}").as_bytes()).into())
}

pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub role: &'static str,
    pub created_at: DateTime<FixedOffset>,
}

pub fn user(at: &Epochs, u: u64) -> User {
    User {
        id: user_id(u),
        username: format!("user{u:04}"),
        email: format!("user{u:04}@bench.confab.dev"),
        display_name: format!("User {u} {}", NAMES[(u % 8) as usize]),
        role: if u == 0 {
            UserRole::Admin
        } else {
            UserRole::User
        }
        .as_str(),
        created_at: at.users + Duration::hours(u as i64),
    }
}

pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub created_at: DateTime<FixedOffset>,
    pub expires_at: DateTime<FixedOffset>,
}

/// User `u`'s session, bearer token `bench-token-<u>`.
pub fn session(at: &Epochs, u: u64) -> Session {
    Session {
        id: Uuid::now_v7(),
        user_id: user_id(u),
        token_hash: auth::hash_token(&format!("bench-token-{u}")),
        created_at: at.now,
        expires_at: at.now + Duration::days(365),
    }
}

pub struct Room {
    pub id: Uuid,
    pub name: String,
    pub created_by: Uuid,
    pub created_at: DateTime<FixedOffset>,
}

pub fn room(at: &Epochs, r: u64) -> Room {
    Room {
        id: room_id(r),
        name: format!("room-{r:03}"),
        created_by: user_id(member(r, 0)),
        created_at: at.rooms + Duration::hours(r as i64),
    }
}

pub struct Member {
    pub room_id: Uuid,
    pub user_id: Uuid,
    pub role: &'static str,
    pub joined_at: DateTime<FixedOffset>,
}

pub fn room_member(at: &Epochs, r: u64, k: u64) -> Member {
    Member {
        room_id: room_id(r),
        user_id: user_id(member(r, k)),
        role: match k {
            0 => "owner",
            1 | 2 => "admin",
            _ => "member",
        },
        joined_at: at.rooms + Duration::hours(r as i64) + Duration::minutes(k as i64),
    }
}

pub struct Message {
    pub id: Uuid,
    pub room_id: Uuid,
    pub sender_id: Uuid,
    pub body: String,
    pub created_at: DateTime<FixedOffset>,
    pub deleted_at: Option<DateTime<FixedOffset>>,
    /// Whether [`reactions`] gives it any.
    pub reacted: bool,
    /// Its place in its room (`store::seq`): the room's messages come every [`ROOMS`] indices
    /// of the block, in time order.
    pub seq: i64,
}

pub fn message(at: &Epochs, i: u64) -> Message {
    let (block, j) = (i / MESSAGES, i % MESSAGES);
    let r = block * ROOMS + j % ROOMS;
    let created_at = at.messages + Duration::minutes(i as i64);
    Message {
        id: message_id(i),
        room_id: room_id(r),
        sender_id: user_id(member(r, (j / ROOMS) % MEMBERS)),
        body: format!(
            "Message {i} in room {r}: {}",
            "lorem ipsum dolor ".repeat(1 + (j % 7) as usize)
        ),
        created_at,
        deleted_at: (j % 97 == 0).then(|| created_at + Duration::minutes(5)),
        reacted: j % REACTED_EVERY == 0,
        seq: (j / ROOMS + 1) as i64,
    }
}

pub struct Reaction {
    pub message_id: Uuid,
    pub user_id: Uuid,
    pub emoji: &'static str,
    pub created_at: DateTime<FixedOffset>,
}

/// Message `i`'s reactions: none, one, or two for every other reacted message.
pub fn reactions(at: &Epochs, i: u64) -> impl Iterator<Item = Reaction> + use<> {
    let (block, j) = (i / MESSAGES, i % MESSAGES);
    let r = block * ROOMS + j % ROOMS;
    let created_at = at.messages + Duration::minutes(i as i64);
    // The k-th reacted message of the block.
    let k = j / REACTED_EVERY;
    let count = if j % REACTED_EVERY == 0 { 1 + k % 2 } else { 0 };
    (0..count).map(move |n| Reaction {
        message_id: message_id(i),
        user_id: user_id(member(r, (j + 3 * n) % MEMBERS)),
        emoji: EMOJI[((k + n) as usize) % EMOJI.len()],
        created_at: created_at + Duration::minutes(1 + n as i64),
    })
}
