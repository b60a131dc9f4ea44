//! Mail delivery off the request path: [`SmtpMailer::send`] puts a message on a bounded queue
//! and returns; one task sends the queue through the SMTP server, retrying a failed send with
//! exponential back-off. A message that cannot be sent (queue full, bad address, every attempt
//! failed) is logged and counted, never reported to whoever asked for it.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::mpsc;

use crate::config::MailConfig;
use crate::mail::{Mail, Mailer};

/// Messages waiting to be sent; more are dropped (and counted as failed).
pub const QUEUE: usize = 1_000;
/// Tries per message: the first and three retries, after 1 s, 2 s and 4 s.
pub const ATTEMPTS: u32 = 4;
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// A send that takes longer counts as failed (and is retried).
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

pub const SENT: &str = "confab_mail_sent_total";
pub const FAILED: &str = "confab_mail_failed_total";

/// Sends mail through an SMTP server, from a queue.
pub struct SmtpMailer {
    queue: mpsc::Sender<Mail>,
}

impl SmtpMailer {
    /// Checks the settings (URL and sender) and starts the sending task; call inside a
    /// tokio runtime.
    pub fn start(config: &MailConfig) -> anyhow::Result<Self> {
        let url = config
            .smtp_url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--smtp-url is not set"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| anyhow::anyhow!("--smtp-url {}: {err}", crate::config::redact(url)))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|err| anyhow::anyhow!("--mail-from {:?}: {err}", config.mail_from))?;
        metrics::counter!(SENT).increment(0);
        metrics::counter!(FAILED).increment(0);
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(rx, transport, from));
        Ok(Self { queue })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) {
        if let Err(err) = self.queue.try_send(mail) {
            metrics::counter!(FAILED).increment(1);
            tracing::error!(error = %err, "mail queue full: message dropped");
        }
    }
}

async fn deliver(
    mut rx: mpsc::Receiver<Mail>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
) {
    while let Some(mail) = rx.recv().await {
        let message = match message(&from, &mail) {
            Ok(message) => message,
            Err(err) => {
                metrics::counter!(FAILED).increment(1);
                tracing::error!(to = %mail.to, error = %err, "mail not sendable");
                continue;
            }
        };
        let mut delay = FIRST_RETRY;
        for attempt in 1..=ATTEMPTS {
            match transport.send(message.clone()).await {
                Ok(_) => {
                    metrics::counter!(SENT).increment(1);
                    break;
                }
                Err(err) if attempt < ATTEMPTS => {
                    tracing::warn!(to = %mail.to, attempt, error = %err, "mail send failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(err) => {
                    metrics::counter!(FAILED).increment(1);
                    tracing::error!(to = %mail.to, attempts = ATTEMPTS, error = %err, "mail not sent");
                }
            }
        }
    }
}

fn message(from: &Mailbox, mail: &Mail) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from(from.clone())
        .to(mail.to.parse()?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())?)
}
