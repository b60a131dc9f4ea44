//! Who subscribes where and who sends: the seed's 500 rooms of 10, or rooms of `--room-size`
//! members that the bench creates, with the sockets spread over the servers in turn.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use serde_json::json;

/// Users as `confab seed --bench` creates them, with tokens `bench-token-<u>`.
pub const USERS: usize = 2_000;
/// The seed's rooms and members per room.
const SEEDED_ROOMS: usize = 500;
const SEEDED_MEMBERS: usize = 10;

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
const CREATE_ROOM: &str = "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }";

/// A room the bench sends into: its id, and the member who sends.
pub struct Room {
    pub id: String,
    pub sender: usize,
}

/// One subscriber socket.
#[derive(Clone, Copy)]
pub struct Plan {
    pub user: usize,
    /// Index into [`Layout::rooms`].
    pub room: usize,
    /// Index into the server URLs: socket `i` connects to server `i % servers`.
    pub server: usize,
    /// The local address to connect from (`--source-addrs`), none for the system's choice.
    pub source: Option<IpAddr>,
}

pub struct Layout {
    pub rooms: Vec<Room>,
    pub plans: Vec<Plan>,
}

impl Layout {
    /// The seed's rooms: socket `i` belongs to user `i % USERS` and subscribes the next of that
    /// user's rooms, so every room gets subscribers once every user has a socket per room.
    pub fn seeded(sockets: usize, source_addrs: u8, servers: usize) -> Layout {
        let member = |r: usize, k: usize| ((r * SEEDED_MEMBERS + k) * 7 + r / 200) % USERS;
        let mut rooms_of: Vec<Vec<usize>> = vec![Vec::new(); USERS];
        for r in 0..SEEDED_ROOMS {
            for k in 0..SEEDED_MEMBERS {
                rooms_of[member(r, k)].push(r);
            }
        }
        let plans = (0..sockets)
            .map(|i| {
                let user = i % USERS;
                let rooms = &rooms_of[user];
                Plan {
                    user,
                    room: rooms[(i / USERS) % rooms.len()],
                    server: i % servers,
                    source: source(i, source_addrs),
                }
            })
            .collect();
        let rooms = (0..SEEDED_ROOMS)
            .map(|r| Room {
                id: format!("00000000-0000-4000-9000-{r:012x}"),
                sender: member(r, 0),
            })
            .collect();
        Layout { rooms, plans }
    }

    /// Rooms of `size` members made with `createRoom` through `graphql`, one socket per
    /// member: socket `i` is user `i % USERS` in room `i / size`, whose first member (its
    /// owner) sends. Consecutive sockets go to different servers, so every room has
    /// subscribers on every server.
    pub async fn created(
        http: &awc::Client,
        graphql: &str,
        sockets: usize,
        size: usize,
        source_addrs: u8,
        servers: usize,
        tag: &str,
    ) -> anyhow::Result<Layout> {
        if size > USERS {
            bail!("--room-size {size}: the seed has {USERS} users");
        }
        let count = sockets.div_ceil(size);
        let made: Vec<anyhow::Result<Room>> = futures_util::stream::iter(0..count)
            .map(|r| async move {
                let members: Vec<usize> = (r * size..(r + 1) * size).map(|i| i % USERS).collect();
                let input = json!({ "name": format!("fanout {tag} {r}"),
                    "memberIds": members[1..].iter().map(|&u| user_id(u)).collect::<Vec<_>>() });
                let answer = graphql_call(
                    http,
                    graphql,
                    members[0],
                    &json!({ "query": CREATE_ROOM, "variables": { "input": input } }),
                )
                .await
                .with_context(|| format!("createRoom {r}"))?;
                let id = answer["data"]["createRoom"]["id"]
                    .as_str()
                    .context("createRoom answered no id")?;
                Ok(Room {
                    id: id.to_owned(),
                    sender: members[0],
                })
            })
            .buffered(8)
            .collect()
            .await;
        let rooms = made.into_iter().collect::<anyhow::Result<Vec<Room>>>()?;
        let plans = (0..sockets)
            .map(|i| Plan {
                user: i % USERS,
                room: i / size,
                server: i % servers,
                source: source(i, source_addrs),
            })
            .collect();
        Ok(Layout { rooms, plans })
    }

    /// The rooms that have at least one subscriber.
    pub fn used_rooms(&self) -> Vec<usize> {
        let mut used = vec![false; self.rooms.len()];
        for p in &self.plans {
            used[p.room] = true;
        }
        (0..self.rooms.len()).filter(|&r| used[r]).collect()
    }
}

pub fn user_id(u: usize) -> String {
    format!("00000000-0000-4000-8000-{u:012x}")
}

/// 127.0.0.1 up to 127.0.0.`source_addrs` in turn, when there is more than one.
fn source(i: usize, source_addrs: u8) -> Option<IpAddr> {
    (source_addrs > 1).then(|| {
        IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            1 + (i % usize::from(source_addrs)) as u8,
        ))
    })
}

/// Sends `body` into `room` as its sender; fails on an HTTP or GraphQL error.
pub async fn send_message(
    http: &awc::Client,
    url: &str,
    room: &Room,
    body: &str,
) -> anyhow::Result<()> {
    let request = json!({ "query": SEND,
        "variables": { "input": { "roomId": room.id, "body": body } } });
    graphql_call(http, url, room.sender, &request)
        .await
        .with_context(|| format!("sendMessage to room {}", room.id))?;
    Ok(())
}

/// One GraphQL request as seeded user `user`; its answer, or an error on an HTTP or GraphQL
/// error.
async fn graphql_call(
    http: &awc::Client,
    url: &str,
    user: usize,
    request: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let mut response = http
        .post(url)
        .insert_header(("Authorization", format!("Bearer bench-token-{user}")))
        .send_json(request)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let bytes = response
        .body()
        .limit(1 << 20)
        .await
        .map_err(|err| anyhow::anyhow!("reading the answer: {err}"))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).context("the answer is not JSON")?;
    if !response.status().is_success() || answer.get("errors").is_some() {
        bail!("as {}: {} {answer}", user_id(user), response.status());
    }
    Ok(answer)
}
