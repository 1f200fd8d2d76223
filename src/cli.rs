//! The command line: `serve`, `migrate`, `replay`, `parse`,
//! `check-config`, `slots` and `create-admin`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{AppOptions, Application};

#[derive(Debug, Parser)]
#[command(name = "sandesh", version, about = "SMS gateway that books clinic appointments for community health workers")]
pub struct Cli {
    /// TOML configuration file. SANDESH__SECTION__KEY variables override it,
    /// such as SANDESH__SERVER__PORT=9000 or SANDESH__DATABASE__URL=other.db.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server, the agent actors and the outbox.
    Serve {
        /// Create a demo NGO in an empty database and accept the demo token.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Replay scenario files (or folders of them) against the engine and
    /// report pass or fail for each.
    Replay {
        /// Scenario files or folders containing `*.toml` scenarios.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Show how the engine reads an SMS text, without storing anything.
    Parse {
        /// The SMS text, e.g. "12 ANC Seema Devi 9876543210" or a reply
        /// starting with "-1".
        #[arg(allow_hyphen_values = true)]
        text: String,
    },
    /// Load and validate the configuration, then print the effective values
    /// (secrets hidden).
    CheckConfig,
    /// Create, list, edit or cancel doctor slots.
    #[command(subcommand)]
    Slots(SlotsCommand),
    /// Create a dashboard admin. The password comes from the
    /// SANDESH_ADMIN_PASSWORD environment variable, or is asked for when
    /// the command runs in a terminal.
    CreateAdmin {
        /// Email to sign in with; stored lower-case.
        #[arg(long)]
        email: String,
        /// The admin's name, as the dashboard shows it.
        #[arg(long)]
        name: String,
        /// Job title, e.g. "Programme manager".
        #[arg(long, default_value = "")]
        designation: String,
        /// If a staff user with this email exists, make them an active
        /// admin with the new password and end their sessions, instead of
        /// failing. For recovering a locked-out admin.
        #[arg(long)]
        reset_password: bool,
    },
}

/// The environment variable `create-admin` reads the password from.
pub const ADMIN_PASSWORD_ENV: &str = "SANDESH_ADMIN_PASSWORD";

#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// Create a slot series: one slot, or a weekly or monthly recurrence.
    Create {
        /// Facility short code, e.g. WGL.
        #[arg(long)]
        facility: String,
        /// Case type code, e.g. ANC.
        #[arg(long = "case")]
        case_code: String,
        /// First date, as dd-mm-yyyy or yyyy-mm-dd.
        #[arg(long)]
        date: String,
        /// Local start time, as HH:MM.
        #[arg(long)]
        time: String,
        /// Places per slot.
        #[arg(long)]
        capacity: i32,
        /// never, weekly or monthly.
        #[arg(long, default_value = "never")]
        recurrence: String,
        /// Last date of a recurring series, as dd-mm-yyyy or yyyy-mm-dd.
        #[arg(long)]
        until: Option<String>,
        /// Number of slots of a recurring series.
        #[arg(long)]
        count: Option<i32>,
    },
    /// List slots of the coming days.
    List {
        /// Only this facility (short code).
        #[arg(long)]
        facility: Option<String>,
        /// Days to show, starting today.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Cancel a slot; its bookings move to the next free slot.
    Cancel {
        /// The slot id, as shown by `slots list`.
        slot: i32,
        /// Also cancel every later slot of the same series.
        #[arg(long)]
        rest: bool,
    },
    /// Change a slot's capacity or start time.
    Edit {
        /// The slot id, as shown by `slots list`.
        slot: i32,
        /// New number of places.
        #[arg(long)]
        capacity: Option<i32>,
        /// New local start time, as HH:MM.
        #[arg(long)]
        time: Option<String>,
        /// Also change every later slot of the same series.
        #[arg(long)]
        rest: bool,
    },
}

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Replay { .. }) {
        // The engine's logs would bury the PASS and FAIL lines; RUST_LOG
        // still shows them.
        let mut log = settings.log.clone();
        log.filter = crate::replay::LOG_FILTER.to_owned();
        crate::telemetry::init(&log);
    } else {
        crate::telemetry::init(&settings.log);
    }

    let result = match cli.command {
        Command::Serve { demo } => serve(settings, demo),
        Command::Migrate => migrate(&settings),
        Command::Replay { paths } => return crate::replay::run_cli(&paths),
        Command::Parse { text } => return parse(&text),
        Command::CheckConfig => check_config(&settings),
        Command::Slots(command) => crate::admin::run_slots(settings, command),
        Command::CreateAdmin { email, name, designation, reset_password } => {
            create_admin(&settings, &email, &name, &designation, reset_password)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(mut settings: Settings, demo: bool) -> anyhow::Result<()> {
    settings.validate_for_serve(demo)?;
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let host = settings.server.host.clone();
        let database = settings.database.url.clone();
        let token_param = settings.sms.token_param.clone();
        let using_demo_token = demo
            && settings
                .sms
                .inbound_token
                .as_ref()
                .is_some_and(|token| secrecy::ExposeSecret::expose_secret(token) == crate::config::DEMO_INBOUND_TOKEN);
        let application = Application::build(settings, AppOptions { demo, ..AppOptions::default() }).await?;
        let port = application.port();
        tracing::info!(%host, port, %database, "listening on http://{host}:{port}");
        if demo {
            let token = if using_demo_token { crate::config::DEMO_INBOUND_TOKEN } else { "<your sms.inbound_token>" };
            tracing::info!(
                "try: curl 'http://{host}:{port}/sms/inbound?from=919812345678&to=5676791&text=12+ANC+Seema+Devi+9876543210&{token_param}={token}'"
            );
        }
        application.run_until_stopped().await?;
        tracing::info!("server stopped");
        Ok(())
    })
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    settings.validate()?;
    // Opening the database applies pending migrations and logs each one.
    crate::db::Database::open(&settings.database)?;
    let total = diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(&crate::db::MIGRATIONS)
        .map(|migrations| migrations.len())
        .unwrap_or_default();
    println!("database {} is up to date with all {total} migrations", settings.database.url);
    Ok(())
}

/// Prints how a text parses; exits 1 when it is not a valid command.
fn parse(text: &str) -> ExitCode {
    match crate::sms::parse(text) {
        Ok(crate::sms::Command::Booking(booking)) => {
            println!("booking");
            println!("  agent id:          {}", booking.agent_id);
            println!("  case code:         {}", booking.case_code);
            println!("  beneficiary name:  {}", booking.beneficiary_name);
            println!("  beneficiary phone: {}", booking.beneficiary_phone);
            println!("  facility code:     {}", booking.facility_code.as_deref().unwrap_or("(any of the agent's)"));
            ExitCode::SUCCESS
        }
        Ok(crate::sms::Command::FollowUpReply(reply)) => {
            let outcome = match reply.outcome {
                crate::sms::FollowUpOutcome::Completed => "SC (completed)",
                crate::sms::FollowUpOutcome::Reschedule => "RS (reschedule)",
            };
            println!("follow-up reply");
            println!("  outcome:           {outcome}");
            println!("  beneficiary phone: {}", reply.beneficiary_phone);
            println!("  beneficiary name:  {}", reply.beneficiary_name);
            println!("  tracking id:       {}", reply.tracking_id);
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("invalid: {error} (field: {})", error.field().as_str());
            ExitCode::FAILURE
        }
    }
}

/// Reads the new admin's password from [`ADMIN_PASSWORD_ENV`], or prompts
/// for it twice on the terminal.
fn admin_password(email: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;

    if let Ok(password) = std::env::var(ADMIN_PASSWORD_ENV) {
        if !password.is_empty() {
            return Ok(password);
        }
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no password given: set {ADMIN_PASSWORD_ENV} or run the command in a terminal to type it");
    }
    let first = rpassword::prompt_password(format!("Password for {email}: ")).context("reading the password failed")?;
    let second = rpassword::prompt_password("Same password again: ").context("reading the password failed")?;
    if first != second {
        anyhow::bail!("the two passwords differ; run the command again");
    }
    Ok(first)
}

fn create_admin(
    settings: &Settings,
    email: &str,
    name: &str,
    designation: &str,
    reset_password: bool,
) -> anyhow::Result<()> {
    use crate::db::staff::{NewStaffUser, Role, StaffSession, StaffUser};

    settings.validate()?;
    let email =
        crate::db::staff::parse_email(email).map_err(|problem| anyhow::anyhow!("invalid --email: {problem}"))?;
    let name = name.trim();
    if name.is_empty() {
        anyhow::bail!("invalid --name: the name is empty");
    }
    let password = admin_password(&email)?;
    crate::web::dashboard::password::check_new(&password, settings.dashboard.min_password_length)
        .map_err(|problem| anyhow::anyhow!("invalid password: {problem}"))?;
    let hash = crate::web::dashboard::password::hash(&password)?;

    let database = crate::db::Database::open(&settings.database)?;
    let mut connection = database.connection()?;
    let now = chrono::Utc::now().naive_utc();
    let (id, created) = crate::db::write_transaction(&mut connection, |connection| {
        if let Some(existing) = StaffUser::find_by_email(connection, &email)? {
            if !reset_password {
                anyhow::bail!(
                    "a staff user with email {email} exists (id {}); add --reset-password to give them a new password",
                    existing.id
                );
            }
            StaffUser::set_password(connection, existing.id, &hash, now)?;
            StaffUser::make_active_admin(connection, existing.id)?;
            StaffSession::delete_all_of(connection, existing.id)?;
            return Ok((existing.id, false));
        }
        let user = StaffUser::insert(
            connection,
            &NewStaffUser {
                name,
                email: &email,
                designation: designation.trim(),
                role: Role::Admin.as_str(),
                password_hash: &hash,
                active: true,
                created_at: now,
                password_changed_at: now,
            },
        )?;
        Ok((user.id, true))
    })?;

    let verb = if created { "created admin" } else { "reset the password of" };
    if created {
        tracing::info!(staff_id = %id, "created staff user {id} with the admin role");
    } else {
        tracing::info!(staff_id = %id, "reset the password of staff user {id} and made them an active admin");
    }
    println!(
        "{verb} {email} (staff id {id}); sign in at http://{}:{}/dashboard/",
        settings.server.host, settings.server.port
    );
    Ok(())
}

fn check_config(settings: &Settings) -> anyhow::Result<()> {
    settings.validate()?;
    println!("{settings:#?}");
    if settings.sms.inbound_token.is_none() {
        eprintln!("warning: sms.inbound_token is not set, so `serve` will refuse to start without --demo");
    }
    Ok(())
}
