//! End-to-end tests through a real Kannel 1.4.5 SMS gateway. An SMS that a
//! phone sends to the fake SMSC travels through bearerbox and smsbox to the
//! Sandesh webhook. Every SMS that Sandesh sends goes through smsbox's
//! sendsms interface and bearerbox back to the fake SMSC, where the test
//! reads it.
//!
//! The tests are ignored by default because they need the Debian packages
//! `kannel` and `kannel-extras` (`tests/kannel/start-kannel.sh` installs them
//! when it runs as root). Run them with `.ci/run kannel` or
//! `cargo test --test kannel_e2e -- --ignored --test-threads=1`.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use chrono::TimeZone as _;
use chrono_tz::Tz;
use diesel::QueryResult;
use sandesh::config::{ProviderKind, Settings};
use sandesh::db::flags::FlaggedMessage;
use sandesh::db::ids::AgentId;
use sandesh::db::inbound::InboundMessage;
use sandesh::db::organisation::{CaseType, Facility};
use sandesh::db::outbound::{status as outbound_status, OutboundMessage};
use sandesh::db::slots::Slot;
use sandesh::db::tasks::{status as task_status, Task};
use sandesh::db::{DbConnection, DbError};
use sandesh::startup::{AppOptions, Application, Core};
use secrecy::SecretString;
use tempfile::TempDir;

/// Shared secret of the webhook. Kannel's get-url carries it in the query.
const INBOUND_TOKEN: &str = "kannel-e2e-inbound-token";
const SENDSMS_USER: &str = "sandesh";
const SENDSMS_PASSWORD: &str = "kannel-e2e-sendsms-password";

/// Query that smsbox appends to the webhook URL for each MO message. The
/// names match Sandesh's default `sms.*_param` settings.
const MO_QUERY: &str = "from=%p&to=%P&text=%a&time=%t&id=%I&smsc=%i";

/// Upper bound for one hop of the path: webhook, booking, outbox poll,
/// sendsms, and fakesmsc, which reads its socket about once a second.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

// Demo data seeded by `AppOptions { demo: true }` (src/demo.rs).
const VMN: &str = "5676791";
const AGENT_12_PHONE: &str = "919812345678";
const AGENT_15_PHONE: &str = "919812345679";
const PATIENT_PHONE: &str = "919876543210";

// ---------------------------------------------------------------- tests

#[actix_web::test]
#[ignore = "needs Kannel 1.4.5; run with .ci/run kannel"]
async fn booking_sms_books_and_patient_sms_arrives() {
    let stack = Stack::start().await;

    stack.send_mo(&[AGENT_12_PHONE, VMN, "12", "ANC", "Seema", "Devi", "9876543210"]).await;

    let task = stack.wait_for_task().await;
    assert_eq!(task.agent_id, AgentId(12));
    assert_eq!(task.beneficiary_name, "Seema Devi");
    assert_eq!(task.beneficiary_phone, "+919876543210");
    assert_eq!(task.status, task_status::BOOKED);

    let inbound_id = task.inbound_message_id.expect("the task records the SMS that booked it");
    let inbound = stack.db(move |connection| InboundMessage::find(connection, inbound_id)).await;
    let inbound = inbound.expect("the booking SMS is stored");
    assert_eq!(inbound.text, "12 ANC Seema Devi 9876543210");
    assert_eq!(inbound.sender, "+919812345678");
    assert_eq!(inbound.recipient, VMN);
    assert!(inbound.provider_message_id.is_some(), "Kannel's message id (%I) was not stored");

    let appointment = stack.appointment(&task).await;
    assert!(["WGL", "KSN"].contains(&appointment.facility_code.as_str()), "booked at {}", appointment.facility_code);
    let expected_patient_text = format!(
        "Seema Devi visit {}, {} on {} at {} for ANC",
        appointment.facility_name, appointment.facility_address, appointment.date, appointment.time
    );
    let expected_agent_text = format!(
        "Booked: Seema Devi (ANC) at {} on {} {}.",
        appointment.facility_name, appointment.date, appointment.time
    );

    let patient_sms = stack.wait_for_mt(PATIENT_PHONE).await;
    assert_eq!(patient_sms.from, VMN);
    assert_eq!(patient_sms.body, MtBody::Text(expected_patient_text));

    let agent_sms = stack.wait_for_mt(AGENT_12_PHONE).await;
    assert_eq!(agent_sms.body, MtBody::Text(expected_agent_text));

    // Kannel accepted both messages with 202, so both count as sent, and
    // each reached the fake SMSC exactly once.
    let outbox = stack.wait_for_all_sent(2).await;
    assert!(outbox.iter().all(|message| message.attempts == 1), "retried: {outbox:#?}");
    assert_eq!(stack.read_mt().await.len(), 2, "the fake SMSC received other messages than the two expected");

    stack.stop().await;
}

#[actix_web::test]
#[ignore = "needs Kannel 1.4.5; run with .ci/run kannel"]
async fn unknown_case_code_gets_fix_it_reply() {
    let stack = Stack::start().await;

    stack.send_mo(&[AGENT_12_PHONE, VMN, "12", "ANX", "Seema", "9876543210"]).await;

    let reply = stack.wait_for_mt(AGENT_12_PHONE).await;
    let MtBody::Text(text) = &reply.body else { panic!("expected a GSM text reply, got {reply:?}") };
    assert!(text.starts_with("Case code ANX is unknown. Did you mean ANC?"), "reply: {text}");

    let outbox = stack.wait_for_all_sent(1).await;
    assert_eq!(outbox[0].template_id, "agent-unknown-case-type");
    assert_eq!(&outbox[0].text, text, "the SMS on the wire differs from the stored one");

    let flags = stack.db(FlaggedMessage::all).await;
    assert_eq!(flags.len(), 1, "flags: {flags:#?}");
    assert_eq!(flags[0].reason, "unknown_case_type");
    assert_eq!(flags[0].agent_id, Some(AgentId(12)));
    assert_eq!(stack.db(Task::count).await, 0, "a malformed SMS booked a task");

    stack.stop().await;
}

#[actix_web::test]
#[ignore = "needs Kannel 1.4.5; run with .ci/run kannel"]
async fn hindi_fix_it_reply_arrives_intact() {
    let stack = Stack::start().await;

    stack.send_mo(&[AGENT_15_PHONE, VMN, "15", "ANX", "Seema", "9876543210"]).await;

    let outbox = stack.wait_for_all_sent(1).await;
    let stored = &outbox[0];
    assert_eq!(stored.recipient, "+919812345679");
    assert_eq!(stored.language, "hi");
    assert_eq!(stored.template_id, "agent-unknown-case-type");
    assert!(stored.text.starts_with("केस कोड ANX "), "stored reply: {}", stored.text);
    assert!(stored.text.contains("ANC"), "stored reply: {}", stored.text);

    let reply = stack.wait_for_mt(AGENT_15_PHONE).await;
    assert_eq!(reply.ucs2_text().as_deref(), Some(stored.text.as_str()), "reply on the wire: {reply:?}");

    stack.stop().await;
}

#[actix_web::test]
#[ignore = "needs Kannel 1.4.5; run with .ci/run kannel"]
async fn devanagari_booking_is_booked() {
    let stack = Stack::start().await;
    let booking = "१५ ANC सीमा देवी ९८७६५४३२१०";

    // A phone sends Devanagari as UCS-2; smsbox recodes it to UTF-8.
    stack.send_mo_ucs2(AGENT_15_PHONE, VMN, booking).await;

    let task = stack.wait_for_task().await;
    assert_eq!(task.agent_id, AgentId(15));
    assert_eq!(task.beneficiary_name, "सीमा देवी");
    assert_eq!(task.beneficiary_phone, "+919876543210");
    let inbound_id = task.inbound_message_id.expect("the task records the SMS that booked it");
    let inbound = stack.db(move |connection| InboundMessage::find(connection, inbound_id)).await;
    assert_eq!(inbound.expect("the booking SMS is stored").text, booking);

    let appointment = stack.appointment(&task).await;
    assert_eq!(appointment.facility_code, "DHR");

    let outbox = stack.wait_for_all_sent(2).await;
    let patient_text = stored_text_to(&outbox, "+919876543210");
    let pieces = ["सीमा देवी", &appointment.date, &appointment.time, &appointment.facility_name, "ANC"];
    for piece in pieces {
        assert!(patient_text.contains(piece), "patient SMS lacks {piece:?}: {patient_text}");
    }
    let agent_text = stored_text_to(&outbox, "+919812345679");
    assert!(agent_text.contains("सीमा देवी"), "agent SMS: {agent_text}");

    let patient_sms = stack.wait_for_mt(PATIENT_PHONE).await;
    assert_eq!(patient_sms.ucs2_text().as_deref(), Some(patient_text), "patient SMS on the wire: {patient_sms:?}");
    let agent_sms = stack.wait_for_mt(AGENT_15_PHONE).await;
    assert_eq!(agent_sms.ucs2_text().as_deref(), Some(agent_text), "agent SMS on the wire: {agent_sms:?}");

    stack.stop().await;
}

// ---------------------------------------------------------------- harness

/// Sandesh serving on a free port with the demo data, and a Kannel stack
/// whose get-url calls it. Fields drop in order, so Kannel stops before the
/// scratch folder with its run directory is removed.
struct Stack {
    kannel: KannelStack,
    server: ServerHandle,
    core: Core,
    zone: Tz,
    _scratch: TempDir,
}

/// The facts of a booked appointment as Sandesh formats them in SMS.
#[derive(Debug)]
struct Appointment {
    facility_code: String,
    facility_name: String,
    facility_address: String,
    /// `dd-mm-yyyy` in the business time zone.
    date: String,
    /// `HH:MM` in the business time zone.
    time: String,
}

impl Stack {
    async fn start() -> Stack {
        init_tracing();
        let scratch = scratch_dir();
        let ports = KannelPorts::free();

        let mut settings = Settings::load(None).expect("default settings load");
        settings.server.host = "127.0.0.1".into();
        settings.server.port = 0;
        settings.server.workers = 1;
        let database = scratch.path().join("sandesh.db");
        settings.database.url = database.to_str().expect("scratch path is UTF-8").to_owned();
        settings.sms.inbound_token = Some(SecretString::from(INBOUND_TOKEN.to_owned()));
        // A reminder falling due during a test would be an extra SMS.
        settings.scheduler.reminders = false;
        settings.outbox.provider = ProviderKind::Kannel;
        settings.outbox.poll_interval_ms = 100;
        settings.kannel.sendsms_url = ports.sendsms_url();
        settings.kannel.username = SENDSMS_USER.into();
        settings.kannel.password = SecretString::from(SENDSMS_PASSWORD.to_owned());
        settings.validate().expect("test settings are valid");
        assert_eq!(settings.sms.vmn, VMN, "the tests expect the default VMN");
        let zone = settings.zone();

        let options = AppOptions { demo: true, ..Default::default() };
        let application = Application::build(settings, options).await.expect("Sandesh starts");
        let webhook_url = format!("http://127.0.0.1:{}/sms/inbound?token={INBOUND_TOKEN}", application.port());
        let (server, core) = application.into_server();
        let server_handle = server.handle();
        actix_rt::spawn(server);

        let kannel = KannelStack::start(scratch.path().join("kannel"), ports, webhook_url).await;
        Stack { kannel, server: server_handle, core, zone, _scratch: scratch }
    }

    /// Stops the HTTP server and Kannel. After a failed assertion `Drop`
    /// stops Kannel instead.
    async fn stop(self) {
        self.server.stop(true).await;
        drop(self);
    }

    /// Runs a query on the application's database.
    async fn db<T, F>(&self, query: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    {
        let result: Result<T, DbError> =
            self.core.engine.database.run(move |connection| query(connection).map_err(DbError::from)).await;
        result.expect("database query failed")
    }

    /// Makes the fake SMSC deliver `args` (FROM TO TEXT...) as one MO SMS.
    async fn send_mo(&self, args: &[&str]) {
        let mut script_args = vec![self.kannel.run_dir_arg()];
        script_args.extend(args.iter().map(|arg| (*arg).to_owned()));
        run_script("send-mo.sh", script_args, Vec::new()).await;
    }

    /// Makes the fake SMSC deliver `text` coded as UCS-2, the way a phone
    /// sends non-GSM text.
    async fn send_mo_ucs2(&self, from: &str, to: &str, text: &str) {
        let script_args =
            vec!["-t".into(), "ucs2".into(), self.kannel.run_dir_arg(), from.into(), to.into(), text.into()];
        run_script("send-mo.sh", script_args, Vec::new()).await;
    }

    /// Reads the messages the fake SMSC received so far, with concatenated
    /// parts joined.
    async fn read_mt(&self) -> Vec<MtMessage> {
        let output = run_script("read-mt.sh", vec![self.kannel.run_dir_arg()], Vec::new()).await;
        let parts: Vec<MtPart> = output.lines().filter(|line| !line.is_empty()).map(MtPart::parse).collect();
        join_parts(parts)
    }

    /// Waits for the first complete message to `phone` (digits, with or
    /// without `+`) at the fake SMSC.
    async fn wait_for_mt(&self, phone: &str) -> MtMessage {
        let recipient = phone.trim_start_matches('+');
        poll(&format!("an SMS to {phone} at the fake SMSC"), || async move {
            let messages = self.read_mt().await;
            match messages.iter().find(|message| message.to.trim_start_matches('+') == recipient) {
                Some(message) => Ok(message.clone()),
                None => Err(format!("messages received so far: {messages:#?}")),
            }
        })
        .await
    }

    /// Waits until exactly one task exists and returns it.
    async fn wait_for_task(&self) -> Task {
        poll("the booking to create a task", || async move {
            let tasks = self.db(Task::all).await;
            match tasks.as_slice() {
                [task] => Ok(task.clone()),
                _ => Err(format!("tasks: {tasks:#?}; flags: {:#?}", self.db(FlaggedMessage::all).await)),
            }
        })
        .await
    }

    /// Waits until the outbox contains `count` messages, all accepted by
    /// Kannel.
    async fn wait_for_all_sent(&self, count: usize) -> Vec<OutboundMessage> {
        poll(&format!("{count} outbox messages with status sent"), || async move {
            let messages = self.db(OutboundMessage::all).await;
            let all_sent = messages.iter().all(|message| message.status == outbound_status::SENT);
            if messages.len() == count && all_sent {
                Ok(messages)
            } else {
                Err(format!("outbox: {messages:#?}"))
            }
        })
        .await
    }

    /// Loads the slot, facility and case type of a task and formats them
    /// as the booking SMS do.
    async fn appointment(&self, task: &Task) -> Appointment {
        let (slot_id, facility_id, case_type_id) = (task.slot_id, task.facility_id, task.case_type_id);
        let (slot, facility, case_type) = self
            .db(move |connection| {
                Ok((
                    Slot::find(connection, slot_id)?,
                    Facility::find(connection, facility_id)?,
                    CaseType::find(connection, case_type_id)?,
                ))
            })
            .await;
        assert_eq!(case_type.code, "ANC");
        assert_eq!(slot.facility_id, facility.id);
        let local = self.zone.from_utc_datetime(&slot.starts_at);
        Appointment {
            facility_code: facility.code,
            facility_name: facility.name,
            facility_address: facility.address,
            date: local.format("%d-%m-%Y").to_string(),
            time: local.format("%H:%M").to_string(),
        }
    }
}

/// Returns the text of the one stored outbound message to `recipient`.
fn stored_text_to<'a>(outbox: &'a [OutboundMessage], recipient: &str) -> &'a str {
    let matching: Vec<&OutboundMessage> = outbox.iter().filter(|message| message.recipient == recipient).collect();
    assert_eq!(matching.len(), 1, "expected one SMS to {recipient} in the outbox: {outbox:#?}");
    assert_eq!(matching[0].language, "hi", "SMS to {recipient} is not in Hindi");
    &matching[0].text
}

/// Polls `probe` every [`POLL_INTERVAL`] until it returns `Ok`, and fails
/// the test with the last `Err` description after [`STEP_TIMEOUT`].
async fn poll<T, F, Fut>(description: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(state) if Instant::now() >= deadline => {
                panic!("timed out after {STEP_TIMEOUT:?} waiting for {description}; {state}")
            }
            Err(_) => actix_rt::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Sends Sandesh's logs to the test output, which shows them for failed
/// tests. `RUST_LOG` overrides the `info` level.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second test in the same process finds the subscriber installed.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// Creates a scratch folder for the database and the Kannel run directory.
/// It goes under `KANNEL_E2E_RUN_ROOT` when that is set, so that CI can stop
/// a stack that a killed test left behind.
fn scratch_dir() -> TempDir {
    let mut builder = tempfile::Builder::new();
    builder.prefix("kannel-e2e-");
    let created = match std::env::var_os("KANNEL_E2E_RUN_ROOT") {
        Some(root) => builder.tempdir_in(root),
        None => builder.tempdir(),
    };
    created.expect("creating the scratch folder failed")
}

// ---------------------------------------------------------------- Kannel

fn script_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("kannel").join(name)
}

/// Runs `tests/kannel/<name>` on the blocking thread pool, so that the
/// actors on the test's thread keep running, and returns its stdout. Fails
/// the test with the script's output when it exits non-zero. Every script
/// has its own time limit.
async fn run_script(name: &'static str, args: Vec<String>, env: Vec<(&'static str, String)>) -> String {
    tokio::task::spawn_blocking(move || run_script_blocking(name, &args, &env))
        .await
        .expect("the thread running a Kannel script panicked")
}

fn run_script_blocking(name: &str, args: &[String], env: &[(&str, String)]) -> String {
    let output = Command::new(script_path(name))
        .args(args)
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .output()
        .unwrap_or_else(|error| panic!("running {name} failed: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} {args:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The four TCP ports of one Kannel stack.
#[derive(Debug, Clone, Copy)]
struct KannelPorts {
    admin: u16,
    smsbox: u16,
    smsc: u16,
    sendsms: u16,
}

impl KannelPorts {
    /// Picks four distinct ports that are free now. Kannel binds them a
    /// moment later, and start-kannel.sh fails with a clear message if
    /// another process took one in between.
    fn free() -> Self {
        let listeners: Vec<TcpListener> =
            (0..4).map(|_| TcpListener::bind("127.0.0.1:0").expect("binding a free port failed")).collect();
        let ports: Vec<u16> =
            listeners.iter().map(|listener| listener.local_addr().expect("bound address").port()).collect();
        Self { admin: ports[0], smsbox: ports[1], smsc: ports[2], sendsms: ports[3] }
    }

    fn sendsms_url(&self) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/sendsms", self.sendsms)
    }
}

/// A running Kannel stack (bearerbox, smsbox, fakesmsc). Dropping it stops
/// the three processes by the PIDs that start-kannel.sh recorded.
struct KannelStack {
    run_dir: PathBuf,
}

impl KannelStack {
    async fn start(run_dir: PathBuf, ports: KannelPorts, webhook_url: String) -> Self {
        // The guard exists before the start, so a failed start is cleaned
        // up too (start-kannel.sh also stops what it started on failure).
        let stack = Self { run_dir };
        let env = vec![
            ("KANNEL_WEBHOOK_URL", webhook_url),
            ("KANNEL_MO_QUERY", MO_QUERY.to_owned()),
            ("KANNEL_ADMIN_PORT", ports.admin.to_string()),
            ("KANNEL_SMSBOX_PORT", ports.smsbox.to_string()),
            ("KANNEL_SMSC_PORT", ports.smsc.to_string()),
            ("KANNEL_SENDSMS_PORT", ports.sendsms.to_string()),
            ("KANNEL_SENDSMS_USER", SENDSMS_USER.to_owned()),
            ("KANNEL_SENDSMS_PASS", SENDSMS_PASSWORD.to_owned()),
            ("KANNEL_GLOBAL_SENDER", String::new()),
        ];
        run_script("start-kannel.sh", vec![stack.run_dir_arg()], env).await;
        stack
    }

    fn run_dir_arg(&self) -> String {
        self.run_dir.to_str().expect("run directory path is UTF-8").to_owned()
    }

    /// Prints the end of each Kannel log, for a failed test's output.
    fn print_log_tails(&self) {
        for name in ["bearerbox.log", "smsbox.log", "fakesmsc.log", "access.log"] {
            let text = std::fs::read_to_string(self.run_dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            eprintln!("---- last lines of {name} ----\n{}", tail.join("\n"));
        }
    }
}

impl Drop for KannelStack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log_tails();
        }
        let result = Command::new(script_path("stop-kannel.sh")).arg(&self.run_dir).output();
        match result {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "stop-kannel.sh {} failed with {}: {}",
                self.run_dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => eprintln!("running stop-kannel.sh failed: {error}"),
        }
    }
}

// ---------------------------------------------------------------- MT output

/// One line of read-mt.sh output: a message, or one part of a concatenated
/// message, as the fake SMSC received it.
#[derive(Debug, Clone)]
struct MtPart {
    from: String,
    to: String,
    /// `text`, `ucs-2`, `data` or `udh:<UDH in hex>`.
    kind: String,
    /// The message bytes: UTF-8 for `text` and decoded `ucs-2`, raw bytes
    /// for the others.
    bytes: Vec<u8>,
}

impl MtPart {
    /// Parses `N<TAB>FROM<TAB>TO<TAB>TYPE<TAB>TEXT`, where TEXT escapes
    /// backslash, newline and tab, or is `hex:` and the bytes in hex.
    fn parse(line: &str) -> Self {
        let fields: Vec<&str> = line.splitn(5, '\t').collect();
        assert_eq!(fields.len(), 5, "unexpected read-mt.sh line: {line:?}");
        let bytes = match fields[4].strip_prefix("hex:") {
            Some(hex) => decode_hex(hex),
            None => unescape(fields[4]).into_bytes(),
        };
        Self { from: fields[1].to_owned(), to: fields[2].to_owned(), kind: fields[3].to_owned(), bytes }
    }

    /// Returns the reference, part count and part number of a concatenated
    /// part with an 8-bit reference (UDH `05 00 03 ref total seq`), the form
    /// Kannel 1.4.5 uses when it splits a long message.
    fn concatenation(&self) -> Option<(u8, u8, u8)> {
        let udh = decode_hex(self.kind.strip_prefix("udh:")?);
        match udh.as_slice() {
            [0x05, 0x00, 0x03, reference, total, seq] => Some((*reference, *total, *seq)),
            _ => panic!("unexpected UDH in {self:?}"),
        }
    }
}

/// A complete message at the fake SMSC.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MtMessage {
    from: String,
    to: String,
    body: MtBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MtBody {
    /// One SMS in the default coding (`text`), as UTF-8.
    Text(String),
    /// One SMS coded as UCS-2 (`ucs-2`), decoded.
    Ucs2(String),
    /// The data of all parts of a concatenated SMS, in part order.
    Concatenated(Vec<u8>),
    /// Anything else, such as an 8-bit `data` SMS.
    Other { kind: String, bytes: Vec<u8> },
}

impl MtMessage {
    /// Decodes a message sent as UCS-2: a single `ucs-2` SMS, or
    /// concatenated parts whose data is valid UTF-16BE. Returns `None` for
    /// anything else.
    fn ucs2_text(&self) -> Option<String> {
        match &self.body {
            MtBody::Ucs2(text) => Some(text.clone()),
            MtBody::Concatenated(bytes) if bytes.len() % 2 == 0 => {
                let units: Vec<u16> =
                    bytes.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect();
                String::from_utf16(&units).ok()
            }
            _ => None,
        }
    }
}

/// Joins concatenated parts into messages. A message is listed once all its
/// parts have arrived, at the position of its last part.
fn join_parts(parts: Vec<MtPart>) -> Vec<MtMessage> {
    struct Pending {
        from: String,
        to: String,
        reference: u8,
        total: u8,
        data: BTreeMap<u8, Vec<u8>>,
    }

    let mut messages = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    for part in parts {
        let Some((reference, total, seq)) = part.concatenation() else {
            // read-mt.sh decodes `text` and `ucs-2` to UTF-8, or prints
            // `hex:` when that fails; such a message lands in `Other`.
            let body = match (part.kind.as_str(), String::from_utf8(part.bytes.clone())) {
                ("text", Ok(text)) => MtBody::Text(text),
                ("ucs-2", Ok(text)) => MtBody::Ucs2(text),
                _ => MtBody::Other { kind: part.kind.clone(), bytes: part.bytes.clone() },
            };
            messages.push(MtMessage { from: part.from, to: part.to, body });
            continue;
        };
        let index = pending.iter().position(|message| {
            message.to == part.to
                && message.reference == reference
                && message.total == total
                && !message.data.contains_key(&seq)
        });
        let index = index.unwrap_or_else(|| {
            pending.push(Pending {
                from: part.from.clone(),
                to: part.to.clone(),
                reference,
                total,
                data: BTreeMap::new(),
            });
            pending.len() - 1
        });
        pending[index].data.insert(seq, part.bytes);
        if pending[index].data.len() == usize::from(total) {
            let complete = pending.remove(index);
            let bytes = complete.data.into_values().flatten().collect();
            messages.push(MtMessage { from: complete.from, to: complete.to, body: MtBody::Concatenated(bytes) });
        }
    }
    messages
}

fn decode_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex from read-mt.sh: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).expect("read-mt.sh printed invalid hex"))
        .collect()
}

/// Reverses read-mt.sh's escaping of backslash, newline and tab.
fn unescape(text: &str) -> String {
    let mut result = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            result.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => result.push('\n'),
            Some('t') => result.push('\t'),
            Some(other) => result.push(other),
            None => result.push('\\'),
        }
    }
    result
}

#[test]
fn concatenated_ucs2_parts_join() {
    let output = "1\t5676791\t+919876543210\tudh:050003070201\thex:0938\n\
                  2\t5676791\t919812345678\ttext\tHi\\tthere\n\
                  3\t5676791\t+919876543210\tudh:050003070202\thex:0940";
    let parts: Vec<MtPart> = output.lines().map(MtPart::parse).collect();
    let messages = join_parts(parts);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].body, MtBody::Text("Hi\tthere".into()));
    assert_eq!(messages[1].to, "+919876543210");
    assert_eq!(messages[1].ucs2_text().as_deref(), Some("सी"));
}
