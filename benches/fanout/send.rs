//! The measured sends: closed-loop rounds (`--send-concurrency` in flight, `--round-gap-ms`
//! between rounds), or one stream on a fixed schedule (`--send-rate`). Send `n` goes to
//! server `n % servers`, so the messages of one room enter through every server in turn.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::layout::{Layout, send_message};
use crate::report::RoundTiming;
use crate::socket::Shared;

/// Where and as whom the bench sends.
pub struct Target<'a> {
    pub http: &'a awc::Client,
    /// The servers' `/graphql` URLs.
    pub graphql: &'a [String],
    pub layout: &'a Layout,
    /// The rooms with subscribers, indices into the layout's rooms.
    pub rooms: &'a [usize],
    pub shared: &'a Shared,
}

/// What the sends gave.
#[derive(Default)]
pub struct Sent {
    pub latencies_us: Vec<u32>,
    pub failures: usize,
    pub first_error: Option<String>,
    pub rounds: Vec<RoundTiming>,
    /// Paced only: the most a send started after its scheduled time, µs.
    pub behind_us: u64,
}

impl Sent {
    fn record(&mut self, latency_us: u32, outcome: anyhow::Result<()>) {
        self.latencies_us.push(latency_us);
        if let Err(err) = outcome {
            self.failures += 1;
            self.first_error.get_or_insert_with(|| format!("{err:#}"));
        }
    }

    /// A paced send of round `round` answered.
    fn finish(&mut self, round: usize, (latency, outcome, done): (u32, anyhow::Result<()>, u64)) {
        self.record(latency, outcome);
        let timing = &mut self.rounds[round];
        timing.last_send_done_us = timing.last_send_done_us.max(done);
    }
}

/// Sends round `round`'s message into room `r` through server `n % servers`: the round trip
/// (µs), the outcome, and when it ended (µs since the epoch).
async fn send_one(
    t: &Target<'_>,
    round: usize,
    r: usize,
    n: usize,
) -> (u32, anyhow::Result<()>, u64) {
    let sent = t.shared.micros();
    let body = format!("fanout {round} {sent}");
    let url = &t.graphql[n % t.graphql.len()];
    let outcome = send_message(t.http, url, &t.layout.rooms[r], &body).await;
    let done = t.shared.micros();
    ((done - sent) as u32, outcome, done)
}

/// `rounds` rounds of one message per room, `concurrency` in flight, `gap` after each round.
pub async fn closed_loop(t: &Target<'_>, rounds: usize, concurrency: usize, gap: Duration) -> Sent {
    let mut sent = Sent::default();
    for round in 0..rounds {
        let first_send_us = t.shared.micros();
        let outcomes: Vec<_> = futures_util::stream::iter(t.rooms.iter().enumerate())
            .map(|(j, &r)| send_one(t, round, r, round + j))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (latency, outcome, _) in outcomes {
            sent.record(latency, outcome);
        }
        sent.rounds.push(RoundTiming {
            first_send_us,
            last_send_done_us: t.shared.micros(),
        });
        eprintln!(
            "round {round}: sent, {} deliveries so far",
            t.shared.delivered()
        );
        tokio::time::sleep(gap).await;
    }
    sent
}

/// `rounds` rounds back to back, the sends `1 / rate` seconds apart whatever the answers
/// (open loop), at most `max_in_flight` unanswered: past that a send waits, and
/// [`Sent::behind_us`] says by how much the schedule slipped.
pub async fn paced(t: &Target<'_>, rounds: usize, rate: f64, max_in_flight: usize) -> Sent {
    let mut sent = Sent {
        rounds: vec![
            RoundTiming {
                first_send_us: u64::MAX,
                last_send_done_us: 0,
            };
            rounds
        ],
        ..Sent::default()
    };
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    let mut in_flight = FuturesUnordered::new();
    for round in 0..rounds {
        for (j, &r) in t.rooms.iter().enumerate() {
            let n = round * t.rooms.len() + j;
            let at = start + interval.mul_f64(n as f64);
            loop {
                tokio::select! {
                    biased;
                    Some((round, answer)) = in_flight.next(), if !in_flight.is_empty() => {
                        sent.finish(round, answer);
                    }
                    () = tokio::time::sleep_until(at), if in_flight.len() < max_in_flight.max(1) => {
                        break;
                    }
                }
            }
            let late = tokio::time::Instant::now().saturating_duration_since(at);
            sent.behind_us = sent.behind_us.max(late.as_micros() as u64);
            let timing = &mut sent.rounds[round];
            timing.first_send_us = timing.first_send_us.min(t.shared.micros());
            in_flight.push(async move { (round, send_one(t, round, r, n).await) });
        }
        if round % 10 == 9 || round + 1 == rounds {
            eprintln!(
                "round {round}: sent, {} deliveries so far",
                t.shared.delivered()
            );
        }
    }
    while let Some((round, answer)) = in_flight.next().await {
        sent.finish(round, answer);
    }
    sent
}
