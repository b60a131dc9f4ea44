//! In-process fan-out: one tokio broadcast channel per topic with subscribers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::{Broker, Event, Topic};

#[derive(Default)]
pub struct LocalBroker {
    channels: Mutex<HashMap<Topic, broadcast::Sender<Arc<Event>>>>,
}

impl LocalBroker {
    /// Delivers to this process's subscribers of `topic`.
    pub fn deliver(&self, topic: Topic, event: Arc<Event>) {
        let Ok(mut channels) = self.channels.lock() else {
            return;
        };
        if let Some(sender) = channels.get(&topic) {
            if sender.receiver_count() == 0 {
                channels.remove(&topic);
            } else {
                let _ = sender.send(event);
            }
        }
    }
}

impl Broker for LocalBroker {
    fn publish(&self, topic: Topic, event: Event) {
        self.deliver(topic, Arc::new(event));
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<Event>> {
        match self.channels.lock() {
            Ok(mut channels) => channels
                .entry(topic)
                .or_insert_with(|| broadcast::channel(topic.buffer()).0)
                .subscribe(),
            // A poisoned map only happens after a panic elsewhere; hand out a dead receiver.
            Err(_) => broadcast::channel(1).1,
        }
    }

    fn subscribers_by_kind(&self) -> [(&'static str, usize); Topic::KINDS.len()] {
        let mut counts = Topic::KINDS.map(|kind| (kind, 0));
        if let Ok(channels) = self.channels.lock() {
            for (topic, sender) in channels.iter() {
                if let Some((_, n)) = counts.iter_mut().find(|(kind, _)| *kind == topic.kind()) {
                    *n += sender.receiver_count();
                }
            }
        }
        counts
    }

    fn local_subscribers(&self, topic: Topic) -> usize {
        self.channels
            .lock()
            .ok()
            .and_then(|channels| channels.get(&topic).map(|s| s.receiver_count()))
            .unwrap_or(0)
    }
}
