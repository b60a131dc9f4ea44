//! Outgoing mail. A [`Mailer`] delivers; without a configured one, [`LogMailer`] writes the
//! message (including any link or token in it) to the log, which is what a developer needs.

use std::sync::{Arc, Mutex};

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub trait Mailer: Send + Sync + 'static {
    fn send(&self, mail: Mail);
}

/// Logs mail instead of sending it.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) {
        tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.body, "mail (no mailer configured)");
    }
}

/// Keeps mail in memory; for tests and embedding.
#[derive(Clone, Default)]
pub struct MemoryMailer {
    pub outbox: Arc<Mutex<Vec<Mail>>>,
}

impl Mailer for MemoryMailer {
    fn send(&self, mail: Mail) {
        if let Ok(mut outbox) = self.outbox.lock() {
            outbox.push(mail);
        }
    }
}
