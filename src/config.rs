//! Typed, layered configuration: built-in defaults, then an optional TOML
//! file, then `SANDESH__SECTION__KEY` environment variables. Every key is
//! documented in `sandesh.example.toml`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveTime;
use chrono_tz::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::sms::{Language, PhoneNumber};

/// All settings. Field docs are the reference for each key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub time: TimeSettings,
    #[serde(default)]
    pub sms: SmsSettings,
    #[serde(default)]
    pub booking: BookingSettings,
    #[serde(default)]
    pub agents: AgentSettings,
    #[serde(default)]
    pub scheduler: SchedulerSettings,
    #[serde(default)]
    pub outbox: OutboxSettings,
    #[serde(default)]
    pub kannel: KannelSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub dashboard: DashboardSettings,
    #[serde(default)]
    pub whatsapp: WhatsAppSettings,
    #[serde(default)]
    pub portal: PortalSettings,
    #[serde(default)]
    pub chat: ChatSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on.
    pub host: String,
    /// TCP port to listen on; 0 picks a free port.
    pub port: u16,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self { host: "127.0.0.1".into(), port: 8080, workers: 0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// SQLite database file, created if missing.
    pub url: String,
    /// Connections in the pool.
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before it fails
    /// with 503, in milliseconds.
    pub pool_timeout_ms: u64,
    /// How long SQLite waits for a lock held by another connection, in
    /// milliseconds.
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: "sandesh.db".into(), pool_size: 8, pool_timeout_ms: 5_000, busy_timeout_ms: 5_000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeSettings {
    /// IANA time zone of business dates and times.
    pub zone: String,
}

impl Default for TimeSettings {
    fn default() -> Self {
        Self { zone: "Asia/Kolkata".into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSettings {
    /// The virtual mobile number SMS are sent from and received on.
    pub vmn: String,
    /// Shared secret that the inbound webhook requires in `token_param`.
    pub inbound_token: Option<SecretString>,
    /// Query parameter carrying the sender's number.
    pub from_param: String,
    /// Query parameter carrying the receiving number (the VMN).
    pub to_param: String,
    /// Query parameter carrying the message text.
    pub text_param: String,
    /// Query parameter carrying the provider's message id (optional).
    pub id_param: String,
    /// Query parameter carrying the shared secret.
    pub token_param: String,
    /// A delivery with a provider id already seen within this many hours is
    /// a repeat and books nothing.
    pub duplicate_id_window_hours: u32,
    /// Without a provider id, the same sender and text within this many
    /// seconds is a repeat.
    pub duplicate_text_window_secs: u32,
    /// Whether a booking must come from the phone registered for the agent
    /// id it names.
    pub require_sender_match: bool,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            vmn: "5676791".into(),
            inbound_token: None,
            from_param: "from".into(),
            to_param: "to".into(),
            text_param: "text".into(),
            id_param: "id".into(),
            token_param: "token".into(),
            duplicate_id_window_hours: 48,
            duplicate_text_window_secs: 300,
            require_sender_match: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingSettings {
    /// A slot must start at least this many minutes after the booking SMS
    /// arrives.
    pub min_lead_minutes: u32,
    /// Whether the agent gets an SMS confirming each booking.
    pub confirm_to_agent: bool,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self { min_lead_minutes: 60, confirm_to_agent: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSettings {
    /// An agent actor with no message for this many seconds stops.
    pub idle_timeout_secs: u64,
    /// Language for SMS to senders that are not registered agents.
    pub default_language: Language,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self { idle_timeout_secs: 300, default_language: Language::En }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerSettings {
    /// Local time (HH:MM) each day when agents get the follow-ups of that
    /// day's appointments.
    pub follow_up_time: String,
    /// Whether patients get a reminder SMS the day before the appointment.
    pub reminders: bool,
    /// Local time (HH:MM) on the day before an appointment when its
    /// reminder goes out. Tasks booked after that moment get no reminder.
    pub reminder_time: String,
    /// A follow-up with no reply after this many days escalates the task.
    pub reply_days: u32,
    /// The maximum number of reschedules (RS replies) of a task; one more
    /// escalates it instead.
    pub max_reschedules: u32,
    /// Slots of recurring series are created this many days ahead.
    pub horizon_days: u32,
    /// How often the scheduler checks for due work, in seconds.
    pub tick_secs: u64,
    /// Tasks handled per transaction in a scheduler run.
    pub batch_size: u32,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            follow_up_time: "20:00".into(),
            reminders: true,
            reminder_time: "18:00".into(),
            reply_days: 2,
            max_reschedules: 2,
            horizon_days: 28,
            tick_secs: 60,
            batch_size: 200,
        }
    }
}

impl SchedulerSettings {
    /// Returns the follow-up time, which start-up has validated.
    pub fn follow_up_at(&self) -> NaiveTime {
        parse_local_time(&self.follow_up_time).unwrap_or(NaiveTime::MIN)
    }

    /// Returns the reminder time, which start-up has validated.
    pub fn reminder_at(&self) -> NaiveTime {
        parse_local_time(&self.reminder_time).unwrap_or(NaiveTime::MIN)
    }
}

fn parse_local_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// The provider the outbox hands SMS to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Kannel's `/cgi-bin/sendsms` HTTP interface.
    Kannel,
    /// Writes each SMS to the log instead of sending it; for demos.
    Log,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// The provider that sends SMS.
    pub provider: ProviderKind,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// Delay before the first retry, in seconds; it doubles per attempt.
    pub backoff_initial_secs: u64,
    /// Maximum delay between two attempts, in seconds.
    pub backoff_max_secs: u64,
    /// How often the outbox looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// Messages claimed per round.
    pub batch_size: u32,
    /// Messages sent to the provider at the same time.
    pub concurrency: usize,
    /// Time limit of one provider request, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Log,
            max_attempts: 8,
            backoff_initial_secs: 30,
            backoff_max_secs: 3_600,
            poll_interval_ms: 500,
            batch_size: 100,
            concurrency: 8,
            request_timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KannelSettings {
    /// URL of Kannel's sendsms interface.
    pub sendsms_url: String,
    /// sendsms user name.
    pub username: String,
    /// sendsms password.
    pub password: SecretString,
}

impl Default for KannelSettings {
    fn default() -> Self {
        Self {
            sendsms_url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: "sandesh".into(),
            password: SecretString::from(String::new()),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// Filter in `tracing_subscriber::EnvFilter` syntax; `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: "info".into() }
    }
}

/// The WhatsApp Cloud API channel: webhook secrets and the Graph API used
/// to send. The channel is off until `enabled` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppSettings {
    /// Whether the webhook accepts messages and the outbox sends on WhatsApp.
    pub enabled: bool,
    /// The token typed into Meta's webhook settings; the verification
    /// handshake must present it.
    pub verify_token: SecretString,
    /// The app secret that keys the `X-Hub-Signature-256` HMAC.
    pub app_secret: SecretString,
    /// The Graph API base URL, including the version. Tests point it at a
    /// local stand-in.
    pub graph_base_url: String,
    /// The business phone number id that messages are sent from.
    pub phone_number_id: String,
    /// The access token sent as `Authorization: Bearer`.
    pub access_token: SecretString,
    /// The destination of replies: `graph` (the Cloud API) or `log`
    /// (written to the log, for demos).
    pub sender: WhatsAppSender,
}

/// The destination of WhatsApp replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhatsAppSender {
    /// The Graph API at `whatsapp.graph_base_url`.
    Graph,
    /// The log, so a demo shows the replies without a Meta account.
    Log,
}

impl Default for WhatsAppSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            verify_token: SecretString::from(String::new()),
            app_secret: SecretString::from(String::new()),
            graph_base_url: "https://graph.facebook.com/v21.0".into(),
            phone_number_id: String::new(),
            access_token: SecretString::from(String::new()),
            sender: WhatsAppSender::Graph,
        }
    }
}

/// The client portal that WhatsApp clients sign in to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettings {
    /// The address clients open, without a trailing slash; WhatsApp
    /// replies link to `{public_url}/portal/login`. Empty means this
    /// server's own address, `http://{server.host}:{bound port}`.
    pub public_url: String,
    /// How long a one-time password sent on WhatsApp stays valid, in hours.
    pub password_valid_hours: u32,
    /// A client session ends this many days after sign-in.
    pub session_lifetime_days: u32,
    /// Requests one client may have that are not closed. A further request
    /// is rejected until a helper closes one.
    pub max_unclosed_requests: u32,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            password_valid_hours: 24,
            session_lifetime_days: 30,
            max_unclosed_requests: 5,
        }
    }
}

/// Chat between clients and helpers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatSettings {
    /// Directory that uploaded files are stored in, created if missing.
    pub files_dir: String,
    /// Largest accepted upload, in bytes.
    pub max_file_bytes: usize,
    /// Content types accepted for upload, as sniffed from the bytes.
    pub allowed_types: Vec<String>,
    /// Requests one helper may hold open at once; taking more is refused.
    pub max_open_per_helper: u32,
    /// Messages sent per history page when a chat is opened or scrolled.
    pub history_page: u32,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            files_dir: "sandesh-files".into(),
            max_file_bytes: 5 * 1024 * 1024,
            allowed_types: ["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"]
                .map(String::from)
                .to_vec(),
            max_open_per_helper: 5,
            history_page: 50,
        }
    }
}

/// Sessions, sign-in limits and passwords of the staff dashboard.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSettings {
    /// A session with no request for this many minutes ends.
    pub idle_timeout_minutes: u32,
    /// A session ends this many hours after sign-in, however active.
    pub session_lifetime_hours: u32,
    /// Whether cookies carry the Secure attribute, so browsers send them
    /// only over HTTPS (and to http://localhost). Turn it off only to use
    /// the dashboard over plain HTTP on another host.
    pub secure_cookies: bool,
    /// Failed sign-ins for one email within the window after which further
    /// attempts for it are rejected until the window moves on.
    pub max_failures_per_account: u32,
    /// Failed sign-ins from one client address within the window after
    /// which further attempts from it are rejected.
    pub max_failures_per_address: u32,
    /// Length of the sign-in rate-limit window, in minutes.
    pub failure_window_minutes: u32,
    /// Shortest staff password accepted, in characters.
    pub min_password_length: usize,
    /// Whether the client address for rate limiting is the last entry of
    /// the X-Forwarded-For header instead of the TCP peer. Set it only
    /// behind a reverse proxy that appends that header, or clients can
    /// choose their own address.
    pub trust_forwarded_for: bool,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: 30,
            session_lifetime_hours: 12,
            secure_cookies: true,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            failure_window_minutes: 15,
            min_password_length: 12,
            trust_forwarded_for: false,
        }
    }
}

impl DashboardSettings {
    /// The shortest `min_password_length` that validation accepts.
    pub const MIN_PASSWORD_LENGTH_FLOOR: usize = 8;
    /// The longest `session_lifetime_hours` that validation accepts: a
    /// year of 366 days.
    pub const MAX_SESSION_LIFETIME_HOURS: u32 = 366 * 24;

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("dashboard.idle_timeout_minutes", self.idle_timeout_minutes),
            ("dashboard.session_lifetime_hours", self.session_lifetime_hours),
            ("dashboard.max_failures_per_account", self.max_failures_per_account),
            ("dashboard.max_failures_per_address", self.max_failures_per_address),
            ("dashboard.failure_window_minutes", self.failure_window_minutes),
        ] {
            if value == 0 {
                return Err(ConfigError::new(key, "0", "use at least 1"));
            }
        }
        if self.session_lifetime_hours > Self::MAX_SESSION_LIFETIME_HOURS {
            return Err(ConfigError::new(
                "dashboard.session_lifetime_hours",
                &self.session_lifetime_hours.to_string(),
                &format!("use at most {}", Self::MAX_SESSION_LIFETIME_HOURS),
            ));
        }
        if u64::from(self.idle_timeout_minutes) > u64::from(self.session_lifetime_hours) * 60 {
            return Err(ConfigError::new(
                "dashboard.idle_timeout_minutes",
                &self.idle_timeout_minutes.to_string(),
                "use at most dashboard.session_lifetime_hours times 60",
            ));
        }
        if self.min_password_length < Self::MIN_PASSWORD_LENGTH_FLOOR {
            return Err(ConfigError::new(
                "dashboard.min_password_length",
                &self.min_password_length.to_string(),
                &format!("use at least {}", Self::MIN_PASSWORD_LENGTH_FLOOR),
            ));
        }
        if self.min_password_length > crate::web::dashboard::password::MAX_LENGTH {
            return Err(ConfigError::new(
                "dashboard.min_password_length",
                &self.min_password_length.to_string(),
                &format!("use at most {}", crate::web::dashboard::password::MAX_LENGTH),
            ));
        }
        Ok(())
    }
}

/// The token the demo uses when none is configured, so the README's
/// example request works on a fresh clone.
pub const DEMO_INBOUND_TOKEN: &str = "demo-token";

/// The WhatsApp webhook's verify token in the demo.
pub const DEMO_WHATSAPP_VERIFY_TOKEN: &str = "demo-verify-token";

/// The app secret that signs WhatsApp webhook calls in the demo, so the
/// README can show a signed request.
pub const DEMO_WHATSAPP_APP_SECRET: &str = "demo-app-secret";

impl Settings {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("configuration file {} not found: check the --config path", path.display());
            }
            builder = builder.add_source(config::File::from(path.to_path_buf()).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("SANDESH").prefix_separator("__").separator("__").try_parsing(true),
        );
        let settings: Settings = builder
            .build()
            .context("reading configuration failed")?
            .try_deserialize()
            .map_err(|error| {
                anyhow::anyhow!(
                    "invalid configuration: {error}; sandesh.example.toml lists every key with its type and allowed values"
                )
            })?;
        Ok(settings)
    }

    /// Sets `portal.public_url` to this server's address when it is not
    /// configured, once the listening port is known.
    pub fn fill_portal_url(&mut self, port: u16) {
        if self.portal.public_url.is_empty() {
            let host = match self.server.host.as_str() {
                "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
                host => host,
            };
            let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() };
            self.portal.public_url = format!("http://{host}:{port}");
        }
    }

    /// Returns the configured time zone.
    pub fn zone(&self) -> Tz {
        self.time.zone.parse().unwrap_or(chrono_tz::Asia::Kolkata)
    }

    /// Returns the database path.
    pub fn database_path(&self) -> PathBuf {
        PathBuf::from(self.database.url.trim_start_matches("sqlite://"))
    }

    /// Checks values that types cannot express. Each error names the key
    /// and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.time.zone.parse::<Tz>().is_err() {
            return Err(ConfigError::new("time.zone", &self.time.zone, "use an IANA zone name such as Asia/Kolkata"));
        }
        if self.database.url.trim().is_empty() {
            return Err(ConfigError::new("database.url", "", "set a file path such as sandesh.db"));
        }
        if self.database.pool_size == 0 {
            return Err(ConfigError::new("database.pool_size", "0", "use at least 1"));
        }
        if self.sms.vmn.trim().is_empty() {
            return Err(ConfigError::new("sms.vmn", "", "set the virtual mobile number SMS are sent from"));
        }
        for (key, value) in [
            ("sms.from_param", &self.sms.from_param),
            ("sms.to_param", &self.sms.to_param),
            ("sms.text_param", &self.sms.text_param),
            ("sms.id_param", &self.sms.id_param),
            ("sms.token_param", &self.sms.token_param),
        ] {
            if value.trim().is_empty() || value.contains(['&', '=', ' ']) {
                return Err(ConfigError::new(key, value, "use a plain query parameter name such as 'from'"));
            }
        }
        if let Some(token) = &self.sms.inbound_token {
            if token.expose_secret().len() < 8 {
                return Err(ConfigError::new("sms.inbound_token", "(hidden)", "use a secret of at least 8 characters"));
            }
        }
        for (key, value) in [
            ("scheduler.follow_up_time", &self.scheduler.follow_up_time),
            ("scheduler.reminder_time", &self.scheduler.reminder_time),
        ] {
            if parse_local_time(value).is_none() {
                return Err(ConfigError::new(key, value, "use a local time as HH:MM, such as 20:00"));
            }
        }
        // Every count and duration below must be at least 1; each is checked
        // on its own so the error names the key that is wrong.
        let positive: [(&'static str, u64); 10] = [
            ("scheduler.tick_secs", self.scheduler.tick_secs),
            ("scheduler.batch_size", u64::from(self.scheduler.batch_size)),
            ("scheduler.reply_days", u64::from(self.scheduler.reply_days)),
            ("outbox.max_attempts", u64::from(self.outbox.max_attempts)),
            ("outbox.backoff_initial_secs", self.outbox.backoff_initial_secs),
            ("outbox.poll_interval_ms", self.outbox.poll_interval_ms),
            ("outbox.batch_size", u64::from(self.outbox.batch_size)),
            ("outbox.concurrency", self.outbox.concurrency as u64),
            ("outbox.request_timeout_ms", self.outbox.request_timeout_ms),
            ("agents.idle_timeout_secs", self.agents.idle_timeout_secs),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(key, "0", "use at least 1"));
            }
        }
        if self.outbox.backoff_max_secs < self.outbox.backoff_initial_secs {
            return Err(ConfigError::new(
                "outbox.backoff_max_secs",
                &self.outbox.backoff_max_secs.to_string(),
                &format!("use at least outbox.backoff_initial_secs ({})", self.outbox.backoff_initial_secs),
            ));
        }
        if self.outbox.provider == ProviderKind::Kannel {
            if !(self.kannel.sendsms_url.starts_with("http://") || self.kannel.sendsms_url.starts_with("https://")) {
                return Err(ConfigError::new(
                    "kannel.sendsms_url",
                    &self.kannel.sendsms_url,
                    "use an http:// or https:// URL",
                ));
            }
            if self.kannel.password.expose_secret().is_empty() {
                return Err(ConfigError::new("kannel.password", "", "set the sendsms-user password from kannel.conf"));
            }
        }
        self.dashboard.validate()?;
        self.validate_clients()?;
        Ok(())
    }

    /// Checks the WhatsApp, portal and chat sections.
    fn validate_clients(&self) -> Result<(), ConfigError> {
        let whatsapp = &self.whatsapp;
        if whatsapp.enabled {
            for (key, value) in
                [("whatsapp.verify_token", &whatsapp.verify_token), ("whatsapp.app_secret", &whatsapp.app_secret)]
            {
                if value.expose_secret().trim().is_empty() {
                    return Err(ConfigError::new(key, "", "set it from the Meta app's WhatsApp settings"));
                }
            }
        }
        if whatsapp.enabled && whatsapp.sender == WhatsAppSender::Graph {
            if whatsapp.access_token.expose_secret().trim().is_empty() {
                return Err(ConfigError::new(
                    "whatsapp.access_token",
                    "",
                    "set it from the Meta app's WhatsApp settings, or set whatsapp.sender = \"log\" to only log replies",
                ));
            }
            if whatsapp.phone_number_id.trim().is_empty() {
                return Err(ConfigError::new(
                    "whatsapp.phone_number_id",
                    "",
                    "set the business phone number id from the Meta app's WhatsApp settings",
                ));
            }
            if !(whatsapp.graph_base_url.starts_with("http://") || whatsapp.graph_base_url.starts_with("https://")) {
                return Err(ConfigError::new(
                    "whatsapp.graph_base_url",
                    &whatsapp.graph_base_url,
                    "use an http:// or https:// URL such as https://graph.facebook.com/v21.0",
                ));
            }
        }
        let url = &self.portal.public_url;
        if !url.is_empty() && (!(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/')) {
            return Err(ConfigError::new(
                "portal.public_url",
                url,
                "use the address clients open, such as https://help.example.org, without a trailing slash",
            ));
        }
        for (key, value) in [
            ("portal.password_valid_hours", u64::from(self.portal.password_valid_hours)),
            ("portal.session_lifetime_days", u64::from(self.portal.session_lifetime_days)),
            ("portal.max_unclosed_requests", u64::from(self.portal.max_unclosed_requests)),
            ("chat.max_file_bytes", self.chat.max_file_bytes as u64),
            ("chat.max_open_per_helper", u64::from(self.chat.max_open_per_helper)),
            ("chat.history_page", u64::from(self.chat.history_page)),
        ] {
            if value == 0 {
                return Err(ConfigError::new(key, "0", "use at least 1"));
            }
        }
        if self.chat.files_dir.trim().is_empty() {
            return Err(ConfigError::new("chat.files_dir", "", "set a directory such as sandesh-files"));
        }
        if let Some(bad) = self.chat.allowed_types.iter().find(|kind| !kind.contains('/')) {
            return Err(ConfigError::new("chat.allowed_types", bad, "use content types such as image/png"));
        }
        Ok(())
    }

    /// Validates settings for `serve`: beyond [`Settings::validate`], the
    /// webhook needs a secret unless the demo supplies one. The demo also
    /// turns the WhatsApp channel on with known secrets and logged replies,
    /// unless the configuration set it up.
    pub fn validate_for_serve(&mut self, demo: bool) -> Result<(), ConfigError> {
        self.validate()?;
        if demo && !self.whatsapp.enabled {
            self.whatsapp.enabled = true;
            self.whatsapp.verify_token = SecretString::from(DEMO_WHATSAPP_VERIFY_TOKEN.to_owned());
            self.whatsapp.app_secret = SecretString::from(DEMO_WHATSAPP_APP_SECRET.to_owned());
            self.whatsapp.sender = WhatsAppSender::Log;
        }
        if self.sms.inbound_token.is_none() {
            if demo {
                self.sms.inbound_token = Some(SecretString::from(DEMO_INBOUND_TOKEN.to_owned()));
            } else {
                return Err(ConfigError::new(
                    "sms.inbound_token",
                    "",
                    "set a shared secret, e.g. SANDESH__SMS__INBOUND_TOKEN=..., and put it in the provider's webhook URL",
                ));
            }
        }
        Ok(())
    }

    /// Returns the VMN as a phone number, or `None` for a short code.
    pub fn vmn_phone(&self) -> Option<PhoneNumber> {
        PhoneNumber::parse_e164(&self.sms.vmn).ok()
    }
}

/// An invalid configuration value.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration value for {key} ({value:?}): {fix}; set it in the config file or as SANDESH__{env}")]
pub struct ConfigError {
    pub key: &'static str,
    pub value: String,
    pub fix: String,
    env: String,
}

impl ConfigError {
    fn new(key: &'static str, value: &str, fix: &str) -> Self {
        Self { key, value: value.to_owned(), fix: fix.to_owned(), env: key.to_ascii_uppercase().replace('.', "__") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::load(None).expect("defaults load");
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn example_file_loads_and_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandesh.example.toml");
        let settings = Settings::load(Some(&path)).expect("sandesh.example.toml loads");
        assert!(settings.validate().is_ok(), "{:?}", settings.validate());
    }

    #[test]
    fn demo_turns_whatsapp_on_with_logged_replies() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.validate_for_serve(true).expect("demo settings are valid");
        assert!(settings.whatsapp.enabled);
        assert_eq!(settings.whatsapp.sender, WhatsAppSender::Log);
        assert_eq!(settings.whatsapp.app_secret.expose_secret(), DEMO_WHATSAPP_APP_SECRET);
        assert!(settings.validate().is_ok(), "{:?}", settings.validate());
    }

    #[test]
    fn whatsapp_without_app_secret_names_key() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.whatsapp.enabled = true;
        settings.whatsapp.verify_token = SecretString::from("verify".to_owned());
        let error = settings.validate().expect_err("no app secret");
        assert_eq!(error.key, "whatsapp.app_secret");
    }

    #[test]
    fn portal_url_follows_the_bound_port() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.fill_portal_url(18080);
        assert_eq!(settings.portal.public_url, "http://127.0.0.1:18080");
        settings.fill_portal_url(9000);
        assert_eq!(settings.portal.public_url, "http://127.0.0.1:18080", "a set address is kept");
    }

    #[test]
    fn portal_url_with_trailing_slash_is_rejected() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.portal.public_url = "https://help.example.org/".into();
        let error = settings.validate().expect_err("trailing slash");
        assert_eq!(error.key, "portal.public_url");
    }

    #[test]
    fn bad_zone_names_key() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.time.zone = "Mumbai".into();
        let error = settings.validate().expect_err("invalid zone");
        assert_eq!(error.key, "time.zone");
        assert!(error.to_string().contains("SANDESH__TIME__ZONE"), "{error}");
    }

    #[test]
    fn dashboard_zero_timeout_names_key() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.dashboard.idle_timeout_minutes = 0;
        let error = settings.validate().expect_err("zero timeout");
        assert_eq!(error.key, "dashboard.idle_timeout_minutes");
    }

    #[test]
    fn dashboard_idle_beyond_lifetime_rejected() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.dashboard.session_lifetime_hours = 1;
        settings.dashboard.idle_timeout_minutes = 61;
        let error = settings.validate().expect_err("idle timeout beyond the lifetime");
        assert_eq!(error.key, "dashboard.idle_timeout_minutes");
    }

    #[test]
    fn dashboard_short_password_minimum_rejected() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.dashboard.min_password_length = 4;
        let error = settings.validate().expect_err("minimum below the floor");
        assert_eq!(error.key, "dashboard.min_password_length");
    }

    #[test]
    fn serve_without_token_fails_outside_demo() {
        let mut settings = Settings::load(None).expect("defaults load");
        let error = settings.validate_for_serve(false).expect_err("token required");
        assert_eq!(error.key, "sms.inbound_token");
        assert!(settings.validate_for_serve(true).is_ok());
    }
}
