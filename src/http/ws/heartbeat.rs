//! The server's WebSocket pings (`--ws-ping-secs`): a socket whose peer vanished without a
//! close (a phone that lost its network, a laptop that slept) sends nothing more, and is closed
//! after two silent periods instead of holding its user online until TCP gives up (hours).
//! Browsers and WebSocket libraries answer a ping frame with a pong on their own.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// What [`Heartbeat::due`] asks the socket to do.
pub(super) enum Beat {
    /// Send a ping.
    Ping,
    /// Nothing came from the peer for two periods: close the socket.
    Silent,
}

pub(super) struct Heartbeat {
    /// The period and the next ping's timer; none when pings are off.
    timer: Option<(Duration, Pin<Box<Sleep>>)>,
    heard: Instant,
}

impl Heartbeat {
    /// Pings every `secs` seconds, or never for 0.
    pub(super) fn new(secs: u64) -> Self {
        let now = Instant::now();
        let timer = (secs > 0).then(|| {
            let every = Duration::from_secs(secs);
            (every, Box::pin(tokio::time::sleep_until(now + every)))
        });
        Self { timer, heard: now }
    }

    /// Notes that something (a message, a pong, the end) came from the peer; passes it on.
    pub(super) fn heard_then<T>(&mut self, frame: T) -> T {
        self.heard = Instant::now();
        frame
    }

    /// Waits for the next period's end; never when pings are off.
    pub(super) async fn due(&mut self) -> Beat {
        let Some((every, sleep)) = self.timer.as_mut() else {
            return std::future::pending().await;
        };
        sleep.as_mut().await;
        let now = Instant::now();
        sleep.as_mut().reset(now + *every);
        if now.duration_since(self.heard) >= *every * 2 {
            Beat::Silent
        } else {
            Beat::Ping
        }
    }
}
