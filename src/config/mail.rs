//! Settings for outgoing mail: the SMTP server, the sender, and the public address links in
//! mail point to.

use clap::Args;

/// Mail: where it goes (SMTP, or the log when unset), who it is from, and the base of the
/// links it carries.
#[derive(Clone, Args)]
pub struct MailConfig {
    /// The SMTP server mail is sent through, e.g.
    /// `smtps://user:pass@mail.example.com` (TLS from the start, port 465 by default),
    /// `smtp://user:pass@mail.example.com:587?tls=required` (STARTTLS) or
    /// `smtp://127.0.0.1:2525` (no TLS: a local relay). Unset: mail is only written to the log.
    #[arg(long = "smtp-url", env = "CONFAB_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// The sender of every mail (`From:`), an address or `Name <address>`.
    #[arg(
        long = "mail-from",
        env = "CONFAB_MAIL_FROM",
        default_value = "Confab <no-reply@localhost>",
        global = true
    )]
    pub mail_from: String,
    /// Where people reach this server's web client: links in mail start with it.
    #[arg(
        long = "public-url",
        env = "CONFAB_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub public_url: String,
}

/// Never prints the SMTP password, whoever formats the settings.
impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_deref().map(super::redact))
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl MailConfig {
    /// A link to `path` (starting with `/`) under `--public-url`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}
