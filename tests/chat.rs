//! Black-box tests of the chat through the officer API: REST messages,
//! WebSocket members, resends, reconnects, receipts, uploads, the limit
//! and sweep of unsent files, and access.
//! Each test starts the real server on port 0 with the demo NGO, a fresh
//! SQLite file and a virtual clock. Clients and requests are created in the
//! database; WebSocket connections go to 127.0.0.1 only.

#[path = "common/server.rs"]
mod server;

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use sandesh::channels::memory::MemoryProvider;
use sandesh::chat::files::{sweep_unsent, SweepSummary, MAX_UNSENT_FILES, UNSENT_GRACE_HOURS};
use sandesh::chat::protocol::PostInput;
use sandesh::clock::{Clock as _, VirtualClock};
use sandesh::db::chat::{ChatFile, ChatMessage, NewChatMessage};
use sandesh::db::client_requests::{status, ClientRequest, NewClientRequest, Viewer};
use sandesh::db::clients::{Client, NewClient};
use sandesh::db::ids::{ChatFileId, ClientId, ClientRequestId, CorporationId};
use sandesh::db::schema::{chat_files, chat_messages, corporations};
use sandesh::db::staff::{Role, Scope, StaffId};
use sandesh::db::DbConnection;
use sandesh::startup::AppOptions;
use sandesh::web::AppState;

use server::{ServerThread, StaffSpec};

const THANE: &str = "Thane Municipal Corporation";
const PASSWORD: &str = "password for chat tests";

/// Uploads larger than this are rejected in these tests.
const MAX_FILE_BYTES: usize = 64 * 1024;

/// How long a test waits for one WebSocket frame.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a test waits to be sure that no frame arrives.
const QUIET_PERIOD: Duration = Duration::from_millis(400);

const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
/// The first 64 bytes of an x86-64 ELF executable (its header).
const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0\x40\x10\x40\0\0\0\0\0\x40\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x40\08\0\x01\0\0\0\0\0\0\0";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ----------------------------------------------------------------- server

/// A running server with the demo NGO, on its own database and clock.
/// Dropping it stops the server.
struct Server {
    address: String,
    port: u16,
    thread: ServerThread,
    clock: VirtualClock,
    http: reqwest::Client,
    _directory: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let directory = tempfile::tempdir().expect("create a temporary folder");
        Server::start_in(directory, VirtualClock::new(server::virtual_start())).await
    }

    /// Starts a server on the database and chat files in `directory`.
    async fn start_in(directory: tempfile::TempDir, clock: VirtualClock) -> Server {
        let mut settings = server::loopback_settings(directory.path());
        settings.chat.max_file_bytes = MAX_FILE_BYTES;

        let options =
            AppOptions { clock: Arc::new(clock.clone()), provider: Some(Arc::new(MemoryProvider::new())), demo: true };
        let thread = ServerThread::start("sandesh-chat", settings, options).await;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("HTTP client builds");

        Server { address: thread.address(), port: thread.port, thread, clock, http, _directory: directory }
    }

    /// Stops the server and starts a new one on the same database, chat
    /// files and clock, as a restart of the process would.
    async fn restart(self) -> Server {
        let Server { thread, clock, _directory: directory, .. } = self;
        thread.stop().await;
        Server::start_in(directory, clock).await
    }

    async fn db<T, F>(&self, work: F) -> T
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        server::run_db(&self.thread.core.engine, work).await
    }

    fn state(&self) -> AppState {
        let core = &self.thread.core;
        AppState {
            engine: core.engine.clone(),
            registry: core.registry.clone(),
            chat: core.chat.clone(),
            outbox: core.outbox.clone(),
        }
    }

    async fn thane(&self) -> CorporationId {
        self.db(|connection| {
            corporations::table.filter(corporations::name.eq(THANE)).select(corporations::id).first(connection)
        })
        .await
    }

    /// Creates an active staff user of the Thane corporation and returns
    /// its id and a bearer token.
    async fn officer(&self, email: &str, role: Role) -> (StaffId, String) {
        let staff = StaffSpec {
            name: "Test Officer",
            email,
            designation: "Helper",
            role,
            password: PASSWORD,
            corporations: &[THANE],
        };
        let id = server::add_staff(&self.thread.core.engine, staff, self.clock.now_naive()).await;
        let reply = self
            .call(reqwest::Method::POST, "/api/v1/tokens", None, Some(json!({"email": email, "password": PASSWORD})))
            .await;
        assert_eq!(reply.0, StatusCode::CREATED, "token for {email}: {}", reply.1);
        (id, reply.1["token"].as_str().expect("token").to_owned())
    }

    /// Creates a client and an open chat request in Thane.
    async fn request(&self, whatsapp_id: &str) -> ClientRequestId {
        let now = self.clock.now_naive();
        let thane = self.thane().await;
        let whatsapp_id = whatsapp_id.to_owned();
        self.db(move |connection| {
            let client = Client::insert(
                connection,
                &NewClient {
                    whatsapp_id: &whatsapp_id,
                    phone: None,
                    display_name: "Seema",
                    language: "en",
                    login: &format!("login-{whatsapp_id}"),
                    password_hash: "unused",
                    password_expires_at: now,
                    created_at: now,
                    last_message_at: now,
                },
            )?;
            let request = ClientRequest::insert(
                connection,
                &NewClientRequest {
                    client_id: client.id,
                    corporation_id: thane,
                    origin: "chat",
                    category: "health",
                    contact_name: "Seema Devi",
                    contact_phone: "9876543210",
                    description: "Needs a clinic visit",
                    status: status::OPEN,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok(request.id)
        })
        .await
    }

    async fn assign(&self, request: ClientRequestId, staff: StaffId) {
        let now = self.clock.now_naive();
        self.db(move |connection| {
            ClientRequest::reassign(connection, request, staff, &Scope::All, 10, now)
                .map_err(|error| diesel::result::Error::QueryBuilderError(error.to_string().into()))
        })
        .await;
    }

    async fn insert_client_message(&self, request: ClientRequestId, client_id: &str, text: &str) -> i32 {
        let now = self.clock.now_naive();
        let client_id = client_id.to_owned();
        let text = text.to_owned();
        self.db(move |connection| {
            let new = NewChatMessage {
                request_id: request,
                client_message_id: &client_id,
                sender: "client",
                staff_id: None,
                kind: "text",
                body: &text,
                file_id: None,
                sent_at: now,
            };
            Ok(ChatMessage::insert_once(connection, &new)?.0.id.0)
        })
        .await
    }

    async fn stored_messages(&self, request: ClientRequestId) -> Vec<ChatMessage> {
        self.db(move |connection| {
            chat_messages::table
                .filter(chat_messages::request_id.eq(request))
                .order(chat_messages::id.asc())
                .select(ChatMessage::as_select())
                .load(connection)
        })
        .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn post_text(
        &self,
        token: &str,
        request: ClientRequestId,
        client_id: &str,
        text: &str,
    ) -> (StatusCode, Value) {
        let body = json!({"client_id": client_id, "text": text});
        self.call(reqwest::Method::POST, &format!("/api/v1/requests/{request}/messages"), Some(token), Some(body)).await
    }

    /// Returns the id of the client who owns `request`.
    async fn client_of(&self, request: ClientRequestId) -> ClientId {
        self.db(move |connection| Ok(ClientRequest::find(connection, request)?.expect("request exists").client_id))
            .await
    }

    /// Uploads `bytes` to `request` as its client, as the portal does, and
    /// returns the file id.
    async fn upload_as_client(&self, request: ClientRequestId, name: &str, bytes: &'static [u8]) -> i64 {
        let client = self.client_of(request).await;
        let response = sandesh::chat::http::upload(
            &self.state(),
            Viewer::Client(client),
            request,
            name,
            actix_web::web::Bytes::from_static(bytes),
        )
        .await
        .expect("the client's upload is accepted");
        assert_eq!(response.status().as_u16(), 201);
        let body = actix_web::body::to_bytes(response.into_body()).await.expect("upload body");
        let body: Value = serde_json::from_slice(&body).expect("upload JSON");
        body["file"]["id"].as_i64().expect("file id")
    }

    async fn upload(&self, token: &str, request: ClientRequestId, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/requests/{request}/files", self.address))
            .query(&[("name", name)])
            .bearer_auth(token)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload request");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Opens the chat WebSocket of `request` with a bearer token.
    async fn connect(&self, token: &str, request: ClientRequestId, after: Option<i64>) -> Socket {
        self.try_connect(token, request, after).await.expect("WebSocket connects")
    }

    async fn try_connect(
        &self,
        token: &str,
        request: ClientRequestId,
        after: Option<i64>,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut url = format!("ws://127.0.0.1:{}/api/v1/requests/{request}/ws", self.port);
        if let Some(after) = after {
            url.push_str(&format!("?after={after}"));
        }
        let mut upgrade = url.into_client_request().expect("valid WebSocket URL");
        upgrade.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header value"));
        tokio_tungstenite::connect_async(upgrade).await.map(|(socket, _)| socket)
    }
}

// ------------------------------------------------------------- WebSocket

/// Returns the next JSON frame, skipping pings; fails after
/// [`FRAME_TIMEOUT`].
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(FRAME_TIMEOUT, socket.next())
            .await
            .expect("a frame arrives in time")
            .expect("the socket is open")
            .expect("a valid frame");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Returns the next frame of `kind`, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    for _ in 0..20 {
        let frame = next_frame(socket).await;
        if frame["type"] == kind {
            return frame;
        }
    }
    panic!("no {kind} frame within 20 frames");
}

/// Checks that no text frame arrives within [`QUIET_PERIOD`].
async fn assert_quiet(socket: &mut Socket, what: &str) {
    let deadline = tokio::time::Instant::now() + QUIET_PERIOD;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("{what}: expected no frame, got {other:?}"),
        }
    }
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.expect("frame sent");
}

fn ids_of(frame: &Value) -> Vec<i64> {
    frame["messages"].as_array().expect("messages").iter().map(|message| message["id"].as_i64().expect("id")).collect()
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn rest_post_reaches_members_once() {
    let server = Server::start().await;
    let (helper, helper_token) = server.officer("helper@ngo.example", Role::Officer).await;
    let (_, admin_token) = server.officer("admin.chat@ngo.example", Role::Admin).await;
    let request = server.request("919800000001").await;
    server.assign(request, helper).await;
    let mut helper_socket = server.connect(&helper_token, request, None).await;
    let mut admin_socket = server.connect(&admin_token, request, None).await;
    assert_eq!(next_frame(&mut helper_socket).await, json!({"type": "history", "messages": [], "has_more": false}));
    assert_eq!(next_of(&mut admin_socket, "history").await["messages"], json!([]));

    let (first_status, first) = server.post_text(&helper_token, request, "c-1", "Namaste, how can I help?").await;
    let helper_frame = next_of(&mut helper_socket, "message").await;
    let admin_frame = next_of(&mut admin_socket, "message").await;
    let (repeat_status, repeat) = server.post_text(&helper_token, request, "c-1", "Namaste, how can I help?").await;

    assert_eq!(first_status, StatusCode::CREATED, "{first}");
    assert_eq!(repeat_status, StatusCode::OK, "{repeat}");
    assert_eq!(repeat["message"], first["message"]);
    assert_eq!(helper_frame["message"], first["message"]);
    assert_eq!(admin_frame["message"], first["message"]);
    assert_eq!(first["message"]["sender"], "helper");
    assert_eq!(first["message"]["sender_name"], "Test Officer");
    assert_eq!(first["message"]["client_id"], "c-1");
    assert_eq!(first["message"]["sent_at"], "2026-03-02T03:30:00.000Z");
    assert_quiet(&mut admin_socket, "a REST resend").await;

    send(&mut helper_socket, json!({"type": "send", "client_id": "c-1", "text": "Namaste, how can I help?"})).await;
    let resent = next_of(&mut helper_socket, "message").await;
    assert_eq!(resent["message"], first["message"], "a resend returns the stored message to its sender");
    assert_quiet(&mut admin_socket, "a WebSocket resend").await;
    assert_eq!(server.stored_messages(request).await.len(), 1);

    send(&mut helper_socket, json!({"type": "send", "client_id": "c-2", "text": "Which clinic is closest?"})).await;
    let second = next_of(&mut admin_socket, "message").await;
    assert_eq!(second["message"]["text"], "Which clinic is closest?");
    assert_eq!(next_of(&mut helper_socket, "message").await["message"], second["message"]);
    assert!(second["message"]["id"].as_i64() > first["message"]["id"].as_i64());
}

#[tokio::test]
async fn reused_client_id_is_rejected() {
    let server = Server::start().await;
    let (helper, token) = server.officer("helper@ngo.example", Role::Officer).await;
    let request = server.request("919800000003").await;
    server.assign(request, helper).await;
    server.insert_client_message(request, "k-1", "Hello").await;

    let (status, body) = server.post_text(&token, request, "k-1", "A different text").await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().is_some_and(|error| error.contains("already names another message")), "{body}");
    assert_eq!(server.stored_messages(request).await.len(), 1, "nothing new is stored");
}

#[tokio::test]
async fn reconnect_learns_status_changes() {
    let server = Server::start().await;
    let (helper, token) = server.officer("helper@ngo.example", Role::Officer).await;
    let request = server.request("919800000004").await;
    server.assign(request, helper).await;
    let mut socket = server.connect(&token, request, None).await;
    next_of(&mut socket, "history").await;
    socket.close(None).await.expect("socket closes");

    let (closed, body) =
        server.call(reqwest::Method::POST, &format!("/api/v1/requests/{request}/close"), Some(&token), None).await;
    let mut again = server.connect(&token, request, Some(0)).await;
    let history = next_frame(&mut again).await;
    let status = next_frame(&mut again).await;

    assert_eq!(closed, StatusCode::OK, "{body}");
    assert_eq!(history["type"], "history");
    assert_eq!(status, json!({"type": "status", "status": "closed", "can_write": false}));
}

#[tokio::test]
async fn widget_assets_are_served() {
    let server = Server::start().await;

    for (path, content_type) in
        [("/static/chat.js", "text/javascript; charset=utf-8"), ("/static/chat.css", "text/css; charset=utf-8")]
    {
        let response = server.http.get(format!("{}{path}", server.address)).send().await.expect("asset request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = response.headers().get("content-type").and_then(|value| value.to_str().ok());
        assert_eq!(header, Some(content_type), "{path}");
    }
}

#[tokio::test]
async fn reconnect_after_gets_missed_messages() {
    let server = Server::start().await;
    let (helper, token) = server.officer("helper@ngo.example", Role::Officer).await;
    let request = server.request("919800000002").await;
    server.assign(request, helper).await;
    let first = server.insert_client_message(request, "k-1", "Hello").await;
    let mut socket = server.connect(&token, request, None).await;
    let history = next_of(&mut socket, "history").await;
    socket.close(None).await.expect("socket closes");

    let second = server.insert_client_message(request, "k-2", "Are you there?").await;
    let (_, third) = server.post_text(&token, request, "h-1", "Yes, I am here").await;
    let third = third["message"]["id"].as_i64().expect("id");
    let mut again = server.connect(&token, request, Some(i64::from(first))).await;
    let missed = next_of(&mut again, "history").await;
    let (_, rest_after) = server
        .call(reqwest::Method::GET, &format!("/api/v1/requests/{request}/messages?after={first}"), Some(&token), None)
        .await;
    let (_, rest_before) = server
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/requests/{request}/messages?before={third}&limit=1"),
            Some(&token),
            None,
        )
        .await;

    assert_eq!(ids_of(&history), vec![i64::from(first)]);
    assert_eq!(ids_of(&missed), vec![i64::from(second), third]);
    assert_eq!(missed["has_more"], false);
    assert_eq!(ids_of(&rest_after), vec![i64::from(second), third]);
    assert_eq!(ids_of(&rest_before), vec![i64::from(second)]);
    assert_eq!(rest_before["has_more"], true);
    assert_eq!(missed["messages"][0]["sender"], "client");
    assert_eq!(missed["messages"][0]["sender_name"], "Seema Devi");
}

#[tokio::test]
async fn receipts_mark_the_other_side() {
    let server = Server::start().await;
    let (helper, helper_token) = server.officer("helper@ngo.example", Role::Officer).await;
    let (_, admin_token) = server.officer("admin.chat@ngo.example", Role::Admin).await;
    let request = server.request("919800000003").await;
    server.assign(request, helper).await;
    let (_, own) = server.post_text(&helper_token, request, "h-1", "Hello").await;
    let first = server.insert_client_message(request, "k-1", "One").await;
    let second = server.insert_client_message(request, "k-2", "Two").await;
    let mut helper_socket = server.connect(&helper_token, request, None).await;
    let mut admin_socket = server.connect(&admin_token, request, None).await;
    next_of(&mut helper_socket, "history").await;
    next_of(&mut admin_socket, "history").await;

    send(&mut helper_socket, json!({"type": "delivered", "up_to": first})).await;
    let delivered = next_of(&mut admin_socket, "receipt").await;
    send(&mut helper_socket, json!({"type": "seen", "up_to": second})).await;
    let newly_delivered = next_of(&mut admin_socket, "receipt").await;
    let read = next_of(&mut admin_socket, "receipt").await;
    send(&mut admin_socket, json!({"type": "seen", "up_to": second})).await;
    let refused = next_of(&mut admin_socket, "error").await;

    assert_eq!(delivered["ids"], json!([first]));
    assert_eq!(delivered["delivered_at"], "2026-03-02T03:30:00.000Z");
    assert_eq!(delivered["read_at"], Value::Null);
    assert_eq!(newly_delivered["ids"], json!([second]));
    assert_eq!(read["ids"], json!([first, second]));
    assert_eq!(read["read_at"], "2026-03-02T03:30:00.000Z");
    assert!(refused["message"].as_str().expect("message").contains("only the client and the helper"), "{refused}");
    let stored = server.stored_messages(request).await;
    let own_id = own["message"]["id"].as_i64().expect("id");
    for message in &stored {
        let is_own = i64::from(message.id.0) == own_id;
        assert_eq!(message.read_at.is_some(), !is_own, "message {} read time", message.id);
        assert_eq!(message.delivered_at.is_some(), !is_own, "message {} delivery time", message.id);
    }
}

#[tokio::test]
async fn bad_frames_get_error_frames() {
    let server = Server::start().await;
    let (helper, helper_token) = server.officer("helper@ngo.example", Role::Officer).await;
    let (_, admin_token) = server.officer("admin.chat@ngo.example", Role::Admin).await;
    let request = server.request("919800000004").await;
    let other_request = server.request("919800000005").await;
    server.assign(request, helper).await;
    server.assign(other_request, helper).await;
    let (_, other_file) = server.upload(&helper_token, other_request, "scan.pdf", PDF).await;
    let other_file = other_file["file"]["id"].as_i64().expect("file id");
    let mut socket = server.connect(&helper_token, request, None).await;
    let mut admin_socket = server.connect(&admin_token, request, None).await;
    next_of(&mut socket, "history").await;
    next_of(&mut admin_socket, "history").await;
    let long_id = "x".repeat(65);
    // The third column is the client_id the error frame must echo: a frame
    // with a string client_id is rejected for good, so the sender must not
    // send it again.
    let cases = [
        (json!({"type": "shout"}), "unknown type 'shout'", Value::Null),
        (json!({"type": "send", "text": "hi"}), "missing client_id", Value::Null),
        (json!({"type": "send", "client_id": 7, "text": "hi"}), "invalid client_id", Value::Null),
        (json!({"type": "send", "client_id": long_id, "text": "hi"}), "the maximum is 64", json!(long_id)),
        (json!({"type": "send", "client_id": "e-1", "text": "  "}), "empty text", json!("e-1")),
        (json!({"type": "send", "client_id": "e-2", "text": "a".repeat(4097)}), "the maximum is 4096", json!("e-2")),
        (
            json!({"type": "send", "client_id": "e-3", "file_id": other_file}),
            "does not belong to request",
            json!("e-3"),
        ),
        (json!({"type": "send", "client_id": "e-4", "file_id": "12"}), "invalid file_id", json!("e-4")),
        (json!({"type": "send", "client_id": "e-5", "text": ["hi"]}), "invalid text", json!("e-5")),
    ];

    for (frame, expected, client_id) in cases {
        send(&mut socket, frame.clone()).await;
        let error = next_of(&mut socket, "error").await;
        assert!(error["message"].as_str().expect("message").contains(expected), "{frame}: {error}");
        assert_eq!(error["client_id"], client_id, "{frame}: {error}");
    }
    socket.send(Message::text("not json")).await.expect("frame sent");
    let not_json = next_of(&mut socket, "error").await;
    assert!(not_json["message"].as_str().expect("message").contains("invalid JSON"), "{not_json}");
    assert_eq!(not_json.get("client_id"), None, "{not_json}");
    send(&mut admin_socket, json!({"type": "send", "client_id": "a-1", "text": "hello"})).await;
    let read_only = next_of(&mut admin_socket, "error").await;
    assert!(read_only["message"].as_str().expect("message").contains("but not post"), "{read_only}");
    assert_eq!(read_only["client_id"], "a-1");
    assert!(server.stored_messages(request).await.is_empty());
}

#[tokio::test]
async fn uploads_are_typed_by_content() {
    let server = Server::start().await;
    let (helper, token) = server.officer("helper@ngo.example", Role::Officer).await;
    let request = server.request("919800000006").await;
    server.assign(request, helper).await;

    let (png_status, png) = server.upload(&token, request, "photo.png", PNG).await;
    let (pdf_status, pdf) = server.upload(&token, request, "photo.png", PDF).await;
    let (elf_status, elf) = server.upload(&token, request, "tool.exe", ELF).await;
    let (text_status, text) = server.upload(&token, request, "notes.png", b"just some notes").await;
    let (large_status, large) =
        server.upload(&token, request, "big.pdf", &[PDF, &vec![b' '; MAX_FILE_BYTES]].concat()).await;

    assert_eq!(png_status, StatusCode::CREATED, "{png}");
    assert_eq!(png["file"]["content_type"], "image/png");
    assert_eq!(pdf_status, StatusCode::CREATED, "{pdf}");
    assert_eq!(pdf["file"]["content_type"], "application/pdf");
    assert_eq!(pdf["file"]["name"], "photo.png.pdf");
    let pdf_id = pdf["file"]["id"].as_i64().expect("file id");
    assert_eq!(pdf["file"]["url"], format!("/api/v1/files/{pdf_id}"));
    assert_eq!(elf_status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{elf}");
    let elf_error = elf["error"].as_str().expect("error");
    assert!(elf_error.contains("application/x-executable"), "{elf_error}");
    assert!(elf_error.contains("application/pdf"), "{elf_error}");
    assert_eq!(text_status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{text}");
    let text_error = text["error"].as_str().expect("error");
    assert!(text_error.contains("could not be recognised from its content"), "{text_error}");
    assert!(!text_error.contains("octet-stream"), "{text_error}");
    assert_eq!(large_status, StatusCode::PAYLOAD_TOO_LARGE, "{large}");
    let large_error = large["error"].as_str().expect("error");
    assert!(large_error.contains(&MAX_FILE_BYTES.to_string()), "{large}");
    assert!(large_error.contains(&format!("is {} bytes", PDF.len() + MAX_FILE_BYTES)), "the real size: {large}");
    let chunked = chunked_upload(&server, &token, request, PDF.len() + MAX_FILE_BYTES).await;
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert!(chunked.contains("the file is larger than the limit of"), "no size it cannot know: {chunked}");

    let download = server
        .http
        .get(format!("{}/api/v1/files/{pdf_id}", server.address))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    let header = |name: &str| download.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    assert_eq!(header("content-type").as_deref(), Some("application/pdf"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header("content-disposition").expect("disposition").starts_with("attachment"));
    assert_eq!(download.bytes().await.expect("body").as_ref(), PDF);

    let (sent_status, sent) = server
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/requests/{request}/messages"),
            Some(&token),
            Some(json!({"client_id": "f-1", "file_id": pdf_id, "text": "Your report"})),
        )
        .await;
    assert_eq!(sent_status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["message"]["kind"], "file");
    assert_eq!(sent["message"]["file"]["url"], format!("/api/v1/files/{pdf_id}"));
}

#[tokio::test]
async fn other_officers_get_404_and_lose_access() {
    let server = Server::start().await;
    let (first, first_token) = server.officer("first@ngo.example", Role::Officer).await;
    let (second, second_token) = server.officer("second@ngo.example", Role::Officer).await;
    let request = server.request("919800000007").await;
    server.assign(request, first).await;
    let (_, file) = server.upload(&first_token, request, "scan.pdf", PDF).await;
    let file = file["file"]["id"].as_i64().expect("file id");

    let (list_status, _) = server
        .call(reqwest::Method::GET, &format!("/api/v1/requests/{request}/messages"), Some(&second_token), None)
        .await;
    let (post_status, _) = server.post_text(&second_token, request, "s-1", "hello").await;
    let (upload_status, _) = server.upload(&second_token, request, "scan.pdf", PDF).await;
    let (file_status, _) =
        server.call(reqwest::Method::GET, &format!("/api/v1/files/{file}"), Some(&second_token), None).await;
    let refused = server.try_connect(&second_token, request, None).await;
    assert_eq!(list_status, StatusCode::NOT_FOUND);
    assert_eq!(post_status, StatusCode::NOT_FOUND);
    assert_eq!(upload_status, StatusCode::NOT_FOUND);
    assert_eq!(file_status, StatusCode::NOT_FOUND);
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404 handshake, got {other:?}"),
    }

    let mut socket = server.connect(&first_token, request, None).await;
    next_of(&mut socket, "history").await;
    server.assign(request, second).await;
    sandesh::chat::http::access_changed(&server.state(), request).await;
    let closed = loop {
        match tokio::time::timeout(FRAME_TIMEOUT, socket.next()).await.expect("the socket closes in time") {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let closed = closed.expect("close frame with a reason");
    assert_eq!(closed.code, CloseCode::Policy);
    assert!(closed.reason.contains("no longer have access"), "{}", closed.reason);
    let (after_status, _) = server
        .call(reqwest::Method::GET, &format!("/api/v1/requests/{request}/messages"), Some(&first_token), None)
        .await;
    let (new_helper_status, _) = server.post_text(&second_token, request, "s-2", "I have taken over").await;
    assert_eq!(after_status, StatusCode::NOT_FOUND);
    assert_eq!(new_helper_status, StatusCode::CREATED);
}

/// Waits for the socket to close and returns its close frame.
async fn closed_with(socket: &mut Socket, within: Duration) -> (CloseCode, String) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await.expect("the socket closes in time") {
            Some(Ok(Message::Close(Some(frame)))) => return (frame.code, frame.reason.to_string()),
            Some(Ok(Message::Close(None))) => panic!("close frame without a code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Marks a staff user inactive straight in the database, as an admin's
/// change would, without the dashboard's release of their requests.
async fn deactivate(server: &Server, staff: StaffId) {
    use sandesh::db::schema::staff_users;

    server
        .db(move |connection| {
            diesel::update(staff_users::table.find(staff)).set(staff_users::active.eq(false)).execute(connection)
        })
        .await;
}

#[tokio::test]
async fn deactivated_officer_cannot_post_over_socket() {
    let server = Server::start().await;
    let (helper, token) = server.officer("gone@ngo.example", Role::Officer).await;
    let request = server.request("919800000011").await;
    server.assign(request, helper).await;
    let mut socket = server.connect(&token, request, None).await;
    next_of(&mut socket, "history").await;

    deactivate(&server, helper).await;
    send(&mut socket, json!({"type": "send", "client_id": "gone-1", "text": "still here?"})).await;
    let (code, reason) = closed_with(&mut socket, FRAME_TIMEOUT).await;

    assert_eq!(code, CloseCode::Policy, "{reason}");
    assert!(reason.contains("API token has ended"), "{reason}");
    assert!(server.stored_messages(request).await.is_empty(), "a message was stored after the sign-in ended");
}

#[tokio::test]
async fn revoked_token_closes_idle_socket() {
    use sandesh::db::schema::api_tokens;

    let server = Server::start().await;
    let (helper, token) = server.officer("idle@ngo.example", Role::Officer).await;
    let request = server.request("919800000012").await;
    server.assign(request, helper).await;
    let mut socket = server.connect(&token, request, None).await;
    next_of(&mut socket, "history").await;

    server.db(|connection| diesel::delete(api_tokens::table).execute(connection)).await;
    let within = sandesh::chat::credential::RECHECK_INTERVAL + FRAME_TIMEOUT;
    let (code, reason) = closed_with(&mut socket, within).await;

    assert_eq!(code, CloseCode::Policy, "{reason}");
    assert!(reason.contains("API token has ended"), "{reason}");
}

#[tokio::test]
async fn oversized_frame_closes_with_1009() {
    let server = Server::start().await;
    let (helper, token) = server.officer("big@ngo.example", Role::Officer).await;
    let request = server.request("919800000013").await;
    server.assign(request, helper).await;
    let mut socket = server.connect(&token, request, None).await;
    next_of(&mut socket, "history").await;

    let text = "x".repeat(sandesh::chat::session::MAX_FRAME_BYTES);
    send(&mut socket, json!({"type": "send", "client_id": "big-1", "text": text})).await;
    let (code, reason) = closed_with(&mut socket, FRAME_TIMEOUT).await;

    assert_eq!(code, CloseCode::Size, "{reason}");
    assert!(reason.contains("65536 bytes"), "{reason}");
    assert!(server.stored_messages(request).await.is_empty());
}

/// Returns the names in the chat files folder, without temporary files.
fn stored_names(server: &Server) -> Vec<String> {
    let directory = &server.thread.core.engine.settings.chat.files_dir;
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|entry| entry.expect("folder entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn unsent_uploads_are_capped_per_side() {
    let server = Server::start().await;
    let (helper, token) = server.officer("cap@ngo.example", Role::Officer).await;
    let request = server.request("919800000014").await;
    server.assign(request, helper).await;
    let limit = usize::try_from(MAX_UNSENT_FILES).expect("small limit");

    let mut file_ids = Vec::new();
    for index in 0..limit {
        let (status, body) = server.upload(&token, request, &format!("scan-{index}.png"), PNG).await;
        assert_eq!(status, StatusCode::CREATED, "upload {index}: {body}");
        file_ids.push(body["file"]["id"].as_i64().expect("file id"));
    }
    let (over_status, over) = server.upload(&token, request, "one-more.png", PNG).await;

    assert_eq!(over_status, StatusCode::CONFLICT, "{over}");
    let message = over["error"].as_str().expect("error");
    assert!(message.contains(&format!("the request's staff uploaded {MAX_UNSENT_FILES} files")), "{message}");
    assert!(message.contains("send those files in a message first"), "{message}");
    assert_eq!(stored_names(&server).len(), limit, "the rejected upload left no stored file");

    // The client's side has its own limit.
    server.upload_as_client(request, "from-client.pdf", PDF).await;

    let (sent_status, sent) = server
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/requests/{request}/messages"),
            Some(&token),
            Some(json!({"client_id": "cap-1", "file_id": file_ids[0]})),
        )
        .await;
    assert_eq!(sent_status, StatusCode::CREATED, "{sent}");
    let (after_send_status, after_send) = server.upload(&token, request, "after-send.png", PNG).await;
    let (full_again_status, full_again) = server.upload(&token, request, "full-again.png", PNG).await;

    assert_eq!(after_send_status, StatusCode::CREATED, "{after_send}");
    assert_eq!(full_again_status, StatusCode::CONFLICT, "{full_again}");
}

/// Uploads `size` bytes of a PDF with chunked transfer encoding, so the
/// server learns the size only while reading, and returns the raw response.
async fn chunked_upload(server: &Server, token: &str, request: ClientRequestId, size: usize) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let address = server.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect to the server");
    let head = format!(
        "POST /api/v1/requests/{request}/files?name=big.pdf HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send the head");
    let body = [PDF, &vec![b' '; size - PDF.len()]].concat();
    // The server may respond and close before the whole body is sent, so
    // write errors end the upload rather than the test.
    for chunk in body.chunks(64 * 1024) {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server did not answer the chunked upload within 10 s");
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn sweep_deletes_only_old_unsent_files() {
    let server = Server::start().await;
    let (helper, token) = server.officer("sweep@ngo.example", Role::Officer).await;
    let request = server.request("919800000015").await;
    server.assign(request, helper).await;

    let mut ids = Vec::new();
    for name in ["sent.png", "old.png", "old-gone.png", "recent.png"] {
        let (status, body) = server.upload(&token, request, name, PNG).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        ids.push(ChatFileId(i32::try_from(body["file"]["id"].as_i64().expect("file id")).expect("i32 id")));
    }
    let [sent, old, old_gone, recent] = ids[..] else { unreachable!("four uploads") };
    let (sent_status, body) = server
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/requests/{request}/messages"),
            Some(&token),
            Some(json!({"client_id": "sweep-1", "file_id": sent.0})),
        )
        .await;
    assert_eq!(sent_status, StatusCode::CREATED, "{body}");
    // A text message stores a NULL file id, which must not stop the sweep
    // from finding unsent files.
    let (text_status, body) = server.post_text(&token, request, "sweep-2", "Please send the report").await;
    assert_eq!(text_status, StatusCode::CREATED, "{body}");

    // Every file but the recent one was uploaded a day and an hour ago.
    let now = server.clock.now_naive();
    let long_ago = now - chrono::Duration::hours(UNSENT_GRACE_HOURS + 1);
    let stored = server
        .db(move |connection| {
            diesel::update(chat_files::table.filter(chat_files::id.eq_any([sent, old, old_gone])))
                .set(chat_files::created_at.eq(long_ago))
                .execute(connection)?;
            ChatFile::find_many(connection, &[sent, old, old_gone, recent])
        })
        .await;
    let stored_name =
        |id: ChatFileId| stored.iter().find(|file| file.id == id).expect("stored row").stored_name.clone();
    let directory = std::path::PathBuf::from(&server.thread.core.engine.settings.chat.files_dir);
    std::fs::remove_file(directory.join(stored_name(old_gone))).expect("remove a stored file before the sweep");

    let summary = sweep_unsent(&server.thread.core.engine, now).await.expect("sweep runs");

    assert_eq!(summary.deleted_rows, 2, "{summary:?}");
    assert_eq!(summary.removed_files, 1, "{summary:?}");
    assert_eq!(summary.missing_files, 1, "{summary:?}");
    assert_eq!(summary.failed_removals, 0, "{summary:?}");
    let remaining = server
        .db(move |connection| {
            let files = ChatFile::find_many(connection, &[sent, old, old_gone, recent])?;
            Ok(files.into_iter().map(|file| file.id).collect::<Vec<_>>())
        })
        .await;
    assert!(remaining.contains(&sent), "the sent file's row stays");
    assert!(remaining.contains(&recent), "the recent unsent file's row stays");
    assert!(!remaining.contains(&old), "the old unsent file's row is deleted");
    assert!(!remaining.contains(&old_gone), "the row whose stored file was gone is deleted");
    let mut expected_on_disk = vec![stored_name(sent), stored_name(recent)];
    expected_on_disk.sort();
    assert_eq!(stored_names(&server), expected_on_disk);

    let again = sweep_unsent(&server.thread.core.engine, now).await.expect("second sweep runs");
    assert_eq!(again, SweepSummary::default(), "a second sweep finds nothing");
}

#[tokio::test]
async fn file_checks_precede_unsent_limit() {
    let server = Server::start().await;
    let (helper, token) = server.officer("order@ngo.example", Role::Officer).await;
    let request = server.request("919800000016").await;
    server.assign(request, helper).await;
    for index in 0..MAX_UNSENT_FILES {
        let (status, body) = server.upload(&token, request, &format!("scan-{index}.png"), PNG).await;
        assert_eq!(status, StatusCode::CREATED, "upload {index}: {body}");
    }

    let (elf_status, elf) = server.upload(&token, request, "tool.exe", ELF).await;
    let (large_status, large) =
        server.upload(&token, request, "big.pdf", &[PDF, &vec![b' '; MAX_FILE_BYTES]].concat()).await;
    let (png_status, png) = server.upload(&token, request, "one-more.png", PNG).await;

    assert_eq!(elf_status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{elf}");
    assert!(elf["error"].as_str().expect("error").contains("application/x-executable"), "{elf}");
    assert_eq!(large_status, StatusCode::PAYLOAD_TOO_LARGE, "{large}");
    assert_eq!(png_status, StatusCode::CONFLICT, "{png}");
}

#[tokio::test]
async fn client_upload_stays_with_client_until_sent() {
    let server = Server::start().await;
    let (helper, token) = server.officer("side@ngo.example", Role::Officer).await;
    let request = server.request("919800000017").await;
    server.assign(request, helper).await;
    let client = server.client_of(request).await;
    let file = server.upload_as_client(request, "scan.pdf", PDF).await;
    let mut socket = server.connect(&token, request, None).await;
    next_of(&mut socket, "history").await;
    next_of(&mut socket, "status").await;

    let (post_status, post) = server
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/requests/{request}/messages"),
            Some(&token),
            Some(json!({"client_id": "side-1", "file_id": file, "text": "I sent this"})),
        )
        .await;
    send(&mut socket, json!({"type": "send", "client_id": "side-2", "file_id": file, "text": "I sent this"})).await;
    // The next frame is the rejection, because the REST post stored nothing.
    let rejected = next_frame(&mut socket).await;
    let (hidden_status, hidden) =
        server.call(reqwest::Method::GET, &format!("/api/v1/files/{file}"), Some(&token), None).await;
    let (missing_status, missing) = server.call(reqwest::Method::GET, "/api/v1/files/999999", Some(&token), None).await;

    assert_eq!(post_status, StatusCode::BAD_REQUEST, "{post}");
    let post_error = post["error"].as_str().expect("error");
    assert!(post_error.contains(&format!("file {file} ")), "{post_error}");
    assert!(post_error.contains("uploaded by the client"), "{post_error}");
    assert!(post_error.contains("upload the file yourself"), "{post_error}");
    assert_eq!(rejected["type"], "error", "{rejected}");
    assert_eq!(rejected["client_id"], "side-2", "{rejected}");
    assert_eq!(rejected["message"], post["error"], "{rejected}");
    assert!(server.stored_messages(request).await.is_empty(), "a message carries the client's file");
    assert_eq!(hidden_status, StatusCode::NOT_FOUND, "{hidden}");
    assert_eq!(missing_status, StatusCode::NOT_FOUND, "{missing}");
    assert_eq!(
        hidden["error"].as_str().expect("error").replace(&file.to_string(), "{id}"),
        missing["error"].as_str().expect("error").replace("999999", "{id}"),
        "an unsent file of the other side looks like a missing one"
    );

    let input = PostInput::new(Some("side-3"), Some("my scan"), Some(file)).expect("valid input");
    let (sent, created) = sandesh::chat::http::post_message(
        &server.state(),
        Viewer::Client(client),
        request,
        input,
        sandesh::chat::http::files_prefix::PORTAL,
    )
    .await
    .expect("the client sends its own file");
    let member_frame = next_of(&mut socket, "message").await;
    let download = server
        .http
        .get(format!("{}/api/v1/files/{file}", server.address))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");

    assert!(created);
    assert_eq!(sent.kind, "file");
    assert_eq!(member_frame["message"]["file"]["id"], file, "{member_frame}");
    assert_eq!(download.status(), StatusCode::OK, "a sent file is readable by the other side");
    assert_eq!(download.bytes().await.expect("body").as_ref(), PDF);
}

#[tokio::test]
async fn sweep_runs_at_start_up() {
    let server = Server::start().await;
    let (helper, token) = server.officer("restart@ngo.example", Role::Officer).await;
    let request = server.request("919800000019").await;
    server.assign(request, helper).await;
    let (status, body) = server.upload(&token, request, "old.png", PNG).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let file = ChatFileId(i32::try_from(body["file"]["id"].as_i64().expect("file id")).expect("i32 id"));
    let long_ago = server.clock.now_naive() - chrono::Duration::hours(UNSENT_GRACE_HOURS + 1);
    server
        .db(move |connection| {
            diesel::update(chat_files::table.find(file)).set(chat_files::created_at.eq(long_ago)).execute(connection)
        })
        .await;

    let server = server.restart().await;

    server::wait_until(
        &server.thread.core.engine,
        "the start-up sweep deletes the old unsent file",
        move |connection| Ok(ChatFile::find(connection, file)?.is_none()),
    )
    .await;
    assert!(stored_names(&server).is_empty(), "the stored file is removed too");
}

#[tokio::test]
async fn openapi_lists_chat_upload_errors() {
    let server = Server::start().await;

    let (status, document) = server.call(reqwest::Method::GET, "/api/v1/openapi.json", None, None).await;

    assert_eq!(status, StatusCode::OK);
    let upload = &document["paths"]["/api/v1/requests/{id}/files"]["post"]["responses"];
    let conflict = upload["409"]["description"].as_str().unwrap_or_else(|| panic!("no 409 for uploads: {upload}"));
    assert!(conflict.contains(&format!("{MAX_UNSENT_FILES} files")), "{conflict}");
    assert!(conflict.contains(&format!("{UNSENT_GRACE_HOURS} hours")), "{conflict}");
    let post = &document["paths"]["/api/v1/requests/{id}/messages"]["post"]["responses"];
    let bad_request = post["400"]["description"].as_str().expect("a 400 for posting a message");
    assert!(bad_request.contains("client_id already used for a different message"), "{bad_request}");
    assert!(bad_request.contains("a file the client uploaded"), "{bad_request}");
}
