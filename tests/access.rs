//! Who can read a client request, through every door that leads to it.
//!
//! Each test starts a server with the demo NGO and two requests of client A
//! in Thane. Officer X takes the first on the dashboard, and A uploads a
//! file to it through the portal and sends it in a message. The second
//! stays open.
//!
//! The matrix sends every person's credentials to every door of the first
//! request and compares the outcome with the table. Credentials travel as
//! explicit `Cookie` and `Authorization` headers on every request, so a
//! portal cookie is also offered to the dashboard and the API, and a staff
//! cookie or bearer token to the portal. Then the admin reassigns the
//! request from X to Y on the dashboard, X's open WebSockets must close,
//! and the matrix runs again.
//!
//! A 404 is also compared with the 404 of an id that does not exist, after
//! both ids are replaced by a placeholder, so a hidden request looks
//! exactly like a missing one.

mod dashboard_harness;

use std::time::Duration;

use dashboard_harness::*;
use diesel::prelude::*;
use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use sandesh::db::chat::ChatMessage;
use sandesh::db::client_requests::{origin, status, ClientRequest, NewClientRequest};
use sandesh::db::clients::{Client, NewClient};
use sandesh::db::ids::{ClientId, ClientRequestId, CorporationId};
use sandesh::db::schema::{chat_messages, corporations};
use sandesh::db::staff::{Role, StaffId};
use sandesh::web::dashboard::password;

const MUMBAI_CORPORATION: &str = "Municipal Corporation of Greater Mumbai";

/// The one-time password of both test clients.
const CLIENT_PASSWORD: &str = "kite-4821-lamp";

const CLIENT_COOKIE: &str = "sandesh_client";
const STAFF_COOKIE: &str = "sandesh_session";

/// An id that no request and no file has.
const MISSING_ID: &str = "999999";

/// How long a test waits for one WebSocket frame or for a socket to close.
const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// The smallest valid PNG: a 1x1 transparent pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

// ------------------------------------------------------------------ doors

/// The part of the application a door belongs to, which decides how an
/// unauthenticated request is turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Portal,
    Dashboard,
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    PortalPage,
    PortalWebSocket,
    PortalFile,
    DashboardPage,
    DashboardWebSocket,
    DashboardFile,
    ApiRequest,
    ApiMessages,
    ApiWebSocket,
    ApiFile,
}

impl Door {
    const ALL: [Door; 10] = [
        Door::PortalPage,
        Door::PortalWebSocket,
        Door::PortalFile,
        Door::DashboardPage,
        Door::DashboardWebSocket,
        Door::DashboardFile,
        Door::ApiRequest,
        Door::ApiMessages,
        Door::ApiWebSocket,
        Door::ApiFile,
    ];

    fn area(self) -> Area {
        match self {
            Door::PortalPage | Door::PortalWebSocket | Door::PortalFile => Area::Portal,
            Door::DashboardPage | Door::DashboardWebSocket | Door::DashboardFile => Area::Dashboard,
            Door::ApiRequest | Door::ApiMessages | Door::ApiWebSocket | Door::ApiFile => Area::Api,
        }
    }

    fn is_websocket(self) -> bool {
        matches!(self, Door::PortalWebSocket | Door::DashboardWebSocket | Door::ApiWebSocket)
    }

    fn is_file(self) -> bool {
        matches!(self, Door::PortalFile | Door::DashboardFile | Door::ApiFile)
    }

    /// Returns the path of this door for a request id and a file id.
    fn path(self, request: &str, file: &str) -> String {
        match self {
            Door::PortalPage => format!("/portal/requests/{request}"),
            Door::PortalWebSocket => format!("/portal/requests/{request}/ws"),
            Door::PortalFile => format!("/portal/files/{file}"),
            Door::DashboardPage => format!("/dashboard/requests/{request}"),
            Door::DashboardWebSocket => format!("/dashboard/requests/{request}/ws"),
            Door::DashboardFile => format!("/dashboard/files/{file}"),
            Door::ApiRequest => format!("/api/v1/requests/{request}"),
            Door::ApiMessages => format!("/api/v1/requests/{request}/messages"),
            Door::ApiWebSocket => format!("/api/v1/requests/{request}/ws"),
            Door::ApiFile => format!("/api/v1/files/{file}"),
        }
    }
}

// --------------------------------------------------------------- outcomes

/// What a person gets at a door.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// 200 with the request, its messages or the file's bytes, or a
    /// WebSocket whose first frame is the history.
    Reads,
    /// 404, with the same body as for an id that does not exist.
    NotFound,
    /// 303 to the sign-in page of the door's area.
    SignIn,
    /// 401 from the API.
    Unauthorized,
    /// Anything else, described.
    Other(String),
}

use Outcome::{NotFound, Reads, SignIn, Unauthorized};

/// A response of one door. For a WebSocket door that opened, the status is
/// 101 and `first_frame` is the type of the first frame the server sent.
#[derive(Debug)]
struct Response {
    status: StatusCode,
    location: Option<String>,
    body: Vec<u8>,
    first_frame: Option<String>,
}

impl Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn describe(&self) -> String {
        let mut text = self.text();
        if text.len() > 200 {
            let cut = (0..=200).rev().find(|index| text.is_char_boundary(*index)).unwrap_or(0);
            text.truncate(cut);
            text.push('…');
        }
        match (&self.location, &self.first_frame) {
            (Some(location), _) => format!("{} to {location}", self.status),
            (None, Some(frame)) => format!("{} with a first frame of type {frame:?}", self.status),
            (None, None) => format!("{} {text:?}", self.status),
        }
    }
}

/// Turns a response into an outcome. `file` is the content that a file
/// door must return when it opens.
fn classify(door: Door, response: &Response, file: &[u8]) -> Outcome {
    let login = match door.area() {
        Area::Portal => Some("/portal/login"),
        Area::Dashboard => Some("/dashboard/login"),
        Area::Api => None,
    };
    match response.status {
        StatusCode::SWITCHING_PROTOCOLS if response.first_frame.as_deref() == Some("history") => Reads,
        StatusCode::OK if !door.is_websocket() => {
            if door.is_file() && response.body != file {
                Outcome::Other(format!("200 with {} bytes that are not the uploaded file", response.body.len()))
            } else {
                Reads
            }
        }
        StatusCode::NOT_FOUND => NotFound,
        StatusCode::UNAUTHORIZED if door.area() == Area::Api => Unauthorized,
        StatusCode::SEE_OTHER
            if login.is_some_and(|login| response.location.as_deref().unwrap_or("").starts_with(login)) =>
        {
            SignIn
        }
        _ => Outcome::Other(response.describe()),
    }
}

/// Replaces every whole token equal to one of `ids` (a run of digits
/// with no letter or digit on either side) with `{id}`.
fn without_ids(body: &str, ids: &[&str]) -> String {
    let mut normalized = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find(|character: char| character.is_ascii_digit()) {
        let end =
            rest[start..].find(|character: char| !character.is_ascii_digit()).map_or(rest.len(), |end| start + end);
        let before = rest[..start].chars().next_back();
        let after = rest[end..].chars().next();
        let bounded = !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        normalized.push_str(&rest[..start]);
        if bounded && ids.contains(&&rest[start..end]) {
            normalized.push_str("{id}");
        } else {
            normalized.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    normalized.push_str(rest);
    normalized
}

// ----------------------------------------------------------------- people

/// A person and the credentials they present at every door.
#[derive(Debug, Clone)]
struct Person {
    name: &'static str,
    cookies: Vec<(&'static str, String)>,
    bearer: Option<String>,
}

impl Person {
    fn nobody() -> Self {
        Self { name: "nobody", cookies: Vec::new(), bearer: None }
    }

    fn cookie_header(&self) -> Option<String> {
        let pairs: Vec<String> = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

/// One row of the matrix: what a person gets at the portal, dashboard and
/// API doors.
struct Row<'a> {
    person: &'a Person,
    portal: Outcome,
    dashboard: Outcome,
    api: Outcome,
}

impl Row<'_> {
    fn expected(&self, door: Door) -> &Outcome {
        match door.area() {
            Area::Portal => &self.portal,
            Area::Dashboard => &self.dashboard,
            Area::Api => &self.api,
        }
    }
}

fn row(person: &Person, portal: Outcome, dashboard: Outcome, api: Outcome) -> Row<'_> {
    Row { person, portal, dashboard, api }
}

// ---------------------------------------------------------------- fixture

/// The server, the people and the two requests of client A.
struct Fixture {
    server: Server,
    http: reqwest::Client,
    client_a: Person,
    client_b: Person,
    officer_x: Person,
    officer_y: Person,
    officer_z: Person,
    admin: Person,
    admin_browser: Browser,
    /// Client A's portal session, for uploads.
    client_a_browser: Browser,
    officer_y_id: StaffId,
    /// Client A's request, taken by officer X, with [`Fixture::file`].
    assigned_request: ClientRequestId,
    /// Client A's second request, still open.
    open_request: ClientRequestId,
    /// The id of the PNG that client A uploaded to [`Fixture::assigned_request`].
    file: i64,
}

async fn corporation(server: &Server, name: &'static str) -> CorporationId {
    server
        .db(move |connection| {
            corporations::table.filter(corporations::name.eq(name)).select(corporations::id).first(connection)
        })
        .await
}

/// Stores a client whose one-time password [`CLIENT_PASSWORD`] is valid
/// for a day.
async fn add_client(server: &Server, login: &'static str) -> ClientId {
    let hash = password::hash(CLIENT_PASSWORD).expect("hash the password");
    let now = server.clock_now();
    server
        .db(move |connection| {
            Client::insert(
                connection,
                &NewClient {
                    whatsapp_id: &format!("wa-{login}"),
                    phone: Some("+919876543210"),
                    display_name: login,
                    language: "en",
                    login,
                    password_hash: &hash,
                    password_expires_at: now + chrono::Duration::hours(24),
                    created_at: now,
                    last_message_at: now,
                },
            )
            .map(|client| client.id)
        })
        .await
}

/// Stores an open chat request of `client` in `corporation`.
async fn add_request(server: &Server, client: ClientId, corporation: CorporationId) -> ClientRequestId {
    let now = server.clock_now();
    server
        .db(move |connection| {
            ClientRequest::insert(
                connection,
                &NewClientRequest {
                    client_id: client,
                    corporation_id: corporation,
                    origin: origin::CHAT,
                    category: "health",
                    contact_name: "Seema Devi",
                    contact_phone: "+919876543210",
                    description: "Needs a clinic visit.",
                    status: status::OPEN,
                    created_at: now,
                    updated_at: now,
                },
            )
            .map(|request| request.id)
        })
        .await
}

/// Returns the value that a response sets for cookie `name`.
fn cookie_value(page: &Page, name: &str) -> String {
    let prefix = format!("{name}=");
    page.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(&prefix).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
        .unwrap_or_else(|| panic!("the response sets no {name} cookie: {:?}", page.headers))
}

/// Signs a client in through the portal form and returns the browser and
/// the session cookie's value.
async fn sign_in_client(server: &Server, login: &str) -> (Browser, String) {
    let browser = Browser::new(server);
    let form = browser.get("/portal/login").await;
    assert_eq!(form.status, StatusCode::OK, "portal sign-in form: {}", form.body);
    let token = csrf_token(&form.body);
    let page =
        browser.post("/portal/login", &[("csrf_token", &token), ("login", login), ("password", CLIENT_PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "portal sign-in of {login} failed: {}", page.body);
    let cookie = cookie_value(&page, CLIENT_COOKIE);
    (browser, cookie)
}

/// Creates a staff user, signs them in on the dashboard and issues an API
/// token. Returns the browser, the session cookie's value, the token and
/// the user's id.
async fn add_staff_member(
    server: &Server,
    email: &str,
    role: Role,
    corporations: &[&str],
) -> (Browser, String, String, StaffId) {
    let password = format!("password of {email}");
    let id = server.add_staff(email, role, &password, corporations).await;
    let browser = Browser::new(server);
    let page = browser.sign_in_ok(email, &password).await;
    let cookie = cookie_value(&page, STAFF_COOKIE);

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/tokens", server.address))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::CREATED, "token for {email}");
    let body: Value = response.json().await.expect("token JSON");
    let token = body["token"].as_str().expect("token in the response").to_owned();
    (browser, cookie, token, id)
}

fn staff(name: &'static str, cookie: &str, token: &str) -> Person {
    Person { name, cookies: vec![(STAFF_COOKIE, cookie.to_owned())], bearer: Some(token.to_owned()) }
}

fn client(name: &'static str, cookie: &str) -> Person {
    Person { name, cookies: vec![(CLIENT_COOKIE, cookie.to_owned())], bearer: None }
}

/// Posts a dashboard form of request `id` with the page's CSRF token.
async fn post_dashboard_action(browser: &Browser, id: ClientRequestId, action: &str, extra: &[(&str, &str)]) -> Page {
    let token = browser.csrf_of(&format!("/dashboard/requests/{id}")).await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(extra);
    browser.post(&format!("/dashboard/requests/{id}/{action}"), &form).await
}

impl Fixture {
    async fn start() -> Fixture {
        let server = Server::start().await;
        let thane = corporation(&server, THANE_CORPORATION).await;
        let client_a_id = add_client(&server, "client-a").await;
        add_client(&server, "client-b").await;
        let assigned_request = add_request(&server, client_a_id, thane).await;
        let open_request = add_request(&server, client_a_id, thane).await;

        let (client_a_browser, client_a_cookie) = sign_in_client(&server, "client-a").await;
        let (_, client_b_cookie) = sign_in_client(&server, "client-b").await;
        let (officer_x_browser, x_cookie, x_token, _) =
            add_staff_member(&server, "officer.x@ngo.example", Role::Officer, &[THANE_CORPORATION]).await;
        let (_, y_cookie, y_token, officer_y_id) =
            add_staff_member(&server, "officer.y@ngo.example", Role::Officer, &[THANE_CORPORATION]).await;
        let (_, z_cookie, z_token, _) =
            add_staff_member(&server, "officer.z@ngo.example", Role::Officer, &[MUMBAI_CORPORATION]).await;
        let (admin_browser, admin_cookie, admin_token, _) =
            add_staff_member(&server, ADMIN_EMAIL, Role::Admin, &[]).await;

        let accepted = post_dashboard_action(&officer_x_browser, assigned_request, "accept", &[]).await;
        assert_eq!(
            accepted.status,
            StatusCode::SEE_OTHER,
            "officer X takes request {assigned_request}: {}",
            accepted.body
        );
        let file = upload_through_portal(&server, &client_a_browser, assigned_request).await;

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client builds");
        let fixture = Fixture {
            server,
            http,
            client_a: client("client A (owner)", &client_a_cookie),
            client_b: client("client B", &client_b_cookie),
            officer_x: staff("officer X", &x_cookie, &x_token),
            officer_y: staff("officer Y", &y_cookie, &y_token),
            officer_z: staff("officer Z", &z_cookie, &z_token),
            admin: staff("admin", &admin_cookie, &admin_token),
            admin_browser,
            client_a_browser,
            officer_y_id,
            assigned_request,
            open_request,
            file,
        };
        fixture.send_file_as_owner().await;
        fixture
    }

    /// Sends [`Fixture::file`] in a message of client A over the portal
    /// WebSocket. Until a message sends it, only the client's side may
    /// download it, and the matrix expects the helpers to read it.
    async fn send_file_as_owner(&self) {
        let request = self.assigned_request;
        let mut owner = self
            .open_socket(&self.client_a, &format!("/portal/requests/{request}/ws"))
            .await
            .expect("A joins to send the file");
        next_of(&mut owner, "history").await;
        let frame = json!({"type": "send", "client_id": "a-file", "file_id": self.file, "text": "my scan"});
        owner.send(Message::text(frame.to_string())).await.expect("send frame");
        let sent = next_of(&mut owner, "message").await;
        assert_eq!(sent["message"]["file"]["id"], self.file, "A sends the file: {sent}");
        let _ = owner.close(None).await;
    }

    /// Sends `person`'s credentials to `path` with a plain GET.
    async fn get(&self, person: &Person, path: &str) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.server.address));
        if let Some(cookies) = person.cookie_header() {
            request = request.header(COOKIE, cookies);
        }
        if let Some(token) = &person.bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = request.send().await.expect("GET request");
        let status = response.status();
        let location = response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.expect("response body").to_vec();
        Response { status, location, body, first_frame: None }
    }

    /// Opens a WebSocket at `path` with `person`'s credentials.
    async fn open_socket(&self, person: &Person, path: &str) -> Result<Socket, Response> {
        let url = format!("{}{path}", self.server.address.replacen("http://", "ws://", 1));
        let mut handshake = url.into_client_request().expect("valid WebSocket URL");
        if let Some(cookies) = person.cookie_header() {
            handshake.headers_mut().insert("cookie", cookies.parse().expect("cookie header"));
        }
        if let Some(token) = &person.bearer {
            handshake
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().expect("authorization header"));
        }
        match tokio_tungstenite::connect_async(handshake).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(Response {
                status: StatusCode::from_u16(response.status().as_u16()).expect("valid status"),
                location: response.headers().get("location").and_then(|value| value.to_str().ok()).map(str::to_owned),
                body: response.body().clone().unwrap_or_default(),
                first_frame: None,
            }),
            Err(error) => Err(Response {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                location: None,
                body: format!("WebSocket handshake failed: {error}").into_bytes(),
                first_frame: None,
            }),
        }
    }

    /// Knocks on `door` as `person`: a GET, or a WebSocket join that reads
    /// the first frame and closes the socket.
    async fn knock(&self, person: &Person, door: Door, request: &str, file: &str) -> Response {
        let path = door.path(request, file);
        if !door.is_websocket() {
            return self.get(person, &path).await;
        }
        match self.open_socket(person, &path).await {
            Ok(mut socket) => {
                let first = next_text_frame(&mut socket).await;
                let _ = socket.close(None).await;
                Response {
                    status: StatusCode::SWITCHING_PROTOCOLS,
                    location: None,
                    body: Vec::new(),
                    first_frame: Some(
                        first.map_or_else(|error| error, |frame| frame["type"].as_str().unwrap_or("(none)").to_owned()),
                    ),
                }
            }
            Err(response) => response,
        }
    }

    /// Calls the API as `person` with an optional JSON body and returns the
    /// status and the JSON reply (`null` when the body is not JSON).
    async fn api(
        &self,
        person: &Person,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.server.address));
        if let Some(token) = &person.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let text = response.text().await.expect("API body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Runs every row against every door of the taken request and its
    /// file, and returns one line per cell that differs from the table.
    async fn failures(&self, phase: &str, rows: &[Row<'_>]) -> Vec<String> {
        let request = self.assigned_request.to_string();
        let file = self.file.to_string();
        let mut failures = Vec::new();
        for row in rows {
            for door in Door::ALL {
                let response = self.knock(row.person, door, &request, &file).await;
                let got = classify(door, &response, PNG);
                let expected = row.expected(door);
                let cell = format!("{phase}: {} at {door:?} ({})", row.person.name, door.path(&request, &file));
                if got != *expected {
                    failures.push(format!("{cell}: expected {expected:?}, got {got:?}"));
                    continue;
                }
                if got == NotFound {
                    let missing = self.knock(row.person, door, MISSING_ID, MISSING_ID).await;
                    let ids = [request.as_str(), file.as_str(), MISSING_ID];
                    let hidden_body = without_ids(&response.text(), &ids);
                    let missing_body = without_ids(&missing.text(), &ids);
                    if missing.status != StatusCode::NOT_FOUND || hidden_body != missing_body {
                        failures.push(format!(
                            "{cell}: the 404 differs from the one of a missing id: got {hidden_body:?}, \
                             a missing id gets {} {missing_body:?}",
                            missing.status
                        ));
                    }
                }
            }
        }
        failures
    }
}

/// Uploads [`PNG`] to the chat of `request` through the portal and returns
/// the file's id.
async fn upload_through_portal(server: &Server, browser: &Browser, request: ClientRequestId) -> i64 {
    let token = browser.csrf_of(&format!("/portal/requests/{request}")).await;
    let response = browser
        .client
        .post(format!("{}/portal/requests/{request}/files?name=pixel.png", server.address))
        .header("x-csrf-token", token)
        .body(PNG.to_vec())
        .send()
        .await
        .expect("upload request");
    assert_eq!(response.status(), StatusCode::CREATED, "upload to request {request}");
    let body: Value = response.json().await.expect("upload JSON");
    body["file"]["id"].as_i64().expect("file id in the upload response")
}

/// Returns the next text frame as JSON, skipping pings, or a description
/// of why none came within [`FRAME_TIMEOUT`].
async fn next_text_frame(socket: &mut Socket) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err(format!("no frame within {FRAME_TIMEOUT:?}")),
            Ok(None) => return Err("the socket ended".into()),
            Ok(Some(Err(error))) => return Err(format!("the socket failed: {error}")),
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).map_err(|error| format!("{error} in {text}"))
            }
            Ok(Some(Ok(Message::Close(frame)))) => return Err(format!("the socket closed: {frame:?}")),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// Reads text frames until one has `"type": kind`.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    for _ in 0..20 {
        let frame = next_text_frame(socket).await.unwrap_or_else(|error| panic!("waiting for a {kind} frame: {error}"));
        if frame["type"] == kind {
            return frame;
        }
    }
    panic!("no {kind} frame within 20 frames");
}

/// Waits until the server closes `socket`, and returns how it closed.
async fn wait_closed(socket: &mut Socket) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err(format!("still open after {FRAME_TIMEOUT:?}")),
            Ok(None) => return Ok("the stream ended".into()),
            Ok(Some(Err(error))) => return Ok(format!("the socket failed: {error}")),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Ok(frame.map_or_else(String::new, |frame| frame.reason.to_string()))
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

fn assert_no_failures(failures: &[String]) {
    assert!(failures.is_empty(), "{} cells differ from the table:\n{}", failures.len(), failures.join("\n"));
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn every_door_follows_the_access_rule() {
    let fixture = Fixture::start().await;
    let nobody = Person::nobody();
    let client_cookie_as_staff = Person {
        name: "client A's cookie sent as the staff cookie and as a bearer token",
        cookies: vec![(STAFF_COOKIE, fixture.client_a.cookies[0].1.clone())],
        bearer: Some(fixture.client_a.cookies[0].1.clone()),
    };
    let staff_cookie_as_client = Person {
        name: "officer X's cookie sent as the client cookie",
        cookies: vec![(CLIENT_COOKIE, fixture.officer_x.cookies[0].1.clone())],
        bearer: None,
    };
    let token_as_client = Person {
        name: "officer X's bearer token sent as the client cookie",
        cookies: vec![(CLIENT_COOKIE, fixture.officer_x.bearer.clone().expect("token"))],
        bearer: None,
    };

    let before = [
        // person, portal doors, dashboard doors, API doors
        row(&fixture.client_a, Reads, SignIn, Unauthorized),
        row(&fixture.client_b, NotFound, SignIn, Unauthorized),
        row(&fixture.officer_x, SignIn, Reads, Reads),
        row(&fixture.officer_y, SignIn, NotFound, NotFound),
        row(&fixture.officer_z, SignIn, NotFound, NotFound),
        row(&fixture.admin, SignIn, Reads, Reads),
        row(&nobody, SignIn, SignIn, Unauthorized),
        row(&client_cookie_as_staff, SignIn, SignIn, Unauthorized),
        row(&staff_cookie_as_client, SignIn, SignIn, Unauthorized),
        row(&token_as_client, SignIn, SignIn, Unauthorized),
    ];
    assert_no_failures(&fixture.failures("before the reassignment", &before).await);

    let assigned = fixture.assigned_request;
    let mut x_dashboard = fixture
        .open_socket(&fixture.officer_x, &format!("/dashboard/requests/{assigned}/ws"))
        .await
        .expect("X joins through the dashboard");
    let mut x_api = fixture
        .open_socket(&fixture.officer_x, &format!("/api/v1/requests/{assigned}/ws"))
        .await
        .expect("X joins through the API");
    let mut owner = fixture
        .open_socket(&fixture.client_a, &format!("/portal/requests/{assigned}/ws"))
        .await
        .expect("A joins through the portal");
    next_of(&mut x_dashboard, "history").await;
    next_of(&mut x_api, "history").await;
    next_of(&mut owner, "history").await;

    let officer_y = fixture.officer_y_id.to_string();
    let moved = post_dashboard_action(&fixture.admin_browser, assigned, "reassign", &[("officer", &officer_y)]).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "the admin's reassign form: {}", moved.body);

    let dashboard_closed = wait_closed(&mut x_dashboard).await;
    let api_closed = wait_closed(&mut x_api).await;
    let owner_status = next_of(&mut owner, "status").await;
    assert!(dashboard_closed.is_ok(), "X's dashboard WebSocket after the reassignment: {dashboard_closed:?}");
    assert!(api_closed.is_ok(), "X's API WebSocket after the reassignment: {api_closed:?}");
    assert_eq!(owner_status["status"], "assigned", "{owner_status}");
    assert_eq!(owner_status["can_write"], true, "the owner still writes: {owner_status}");
    let stored = fixture.server.db(move |connection| ClientRequest::find(connection, assigned)).await.expect("request");
    assert_eq!(stored.helper_id, Some(fixture.officer_y_id));

    let after = [
        // person, portal doors, dashboard doors, API doors
        row(&fixture.client_a, Reads, SignIn, Unauthorized),
        row(&fixture.client_b, NotFound, SignIn, Unauthorized),
        row(&fixture.officer_x, SignIn, NotFound, NotFound),
        row(&fixture.officer_y, SignIn, Reads, Reads),
        row(&fixture.officer_z, SignIn, NotFound, NotFound),
        row(&fixture.admin, SignIn, Reads, Reads),
        row(&nobody, SignIn, SignIn, Unauthorized),
    ];
    assert_no_failures(&fixture.failures("after the reassignment to Y", &after).await);
}

#[tokio::test]
async fn open_request_readable_not_writable() {
    let fixture = Fixture::start().await;
    let open = fixture.open_request;
    let officer_y = &fixture.officer_y;

    let page = fixture.get(officer_y, &format!("/dashboard/requests/{open}")).await;
    let (request_status, request) =
        fixture.api(officer_y, reqwest::Method::GET, &format!("/api/v1/requests/{open}"), None).await;
    let (messages_status, _) =
        fixture.api(officer_y, reqwest::Method::GET, &format!("/api/v1/requests/{open}/messages"), None).await;
    let mut socket =
        fixture.open_socket(officer_y, &format!("/dashboard/requests/{open}/ws")).await.expect("Y joins the chat");
    next_of(&mut socket, "history").await;
    let frame = json!({"type": "send", "client_id": "y-1", "text": "Can I help?"});
    socket.send(Message::text(frame.to_string())).await.expect("send frame");
    let read_only_error = next_of(&mut socket, "error").await;
    let (post_status, post) = fixture
        .api(
            officer_y,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{open}/messages"),
            Some(json!({"client_id": "y-2", "text": "Can I help?"})),
        )
        .await;
    let upload = fixture
        .http
        .post(format!("{}/api/v1/requests/{open}/files?name=pixel.png", fixture.server.address))
        .bearer_auth(officer_y.bearer.as_deref().expect("token"))
        .body(PNG.to_vec())
        .send()
        .await
        .expect("upload request");
    let other_corporation = fixture.get(&fixture.officer_z, &format!("/dashboard/requests/{open}")).await;
    let (other_corporation_api, _) =
        fixture.api(&fixture.officer_z, reqwest::Method::GET, &format!("/api/v1/requests/{open}"), None).await;

    assert_eq!(page.status, StatusCode::OK, "Y at the dashboard page of an open request: {}", page.describe());
    assert!(page.text().contains(r#"data-can-write="false""#), "the chat of an open request is read-only for Y");
    assert_eq!(request_status, StatusCode::OK, "Y at GET /api/v1/requests/{open}: {request}");
    assert_eq!(messages_status, StatusCode::OK, "Y at GET /api/v1/requests/{open}/messages");
    let read_only_message = read_only_error["message"].as_str().expect("error message");
    assert!(read_only_message.contains("but not post"), "Y posting over the WebSocket: {read_only_error}");
    assert_eq!(post_status, StatusCode::FORBIDDEN, "Y posting through the API: {post}");
    assert_eq!(upload.status(), StatusCode::FORBIDDEN, "Y uploading through the API");
    assert_eq!(other_corporation.status, StatusCode::NOT_FOUND, "Z at the dashboard page of an open request");
    assert_eq!(other_corporation_api, StatusCode::NOT_FOUND, "Z at the API request of an open request");
    let stored = fixture
        .server
        .db(move |connection| {
            chat_messages::table
                .filter(chat_messages::request_id.eq(open))
                .select(ChatMessage::as_select())
                .load(connection)
        })
        .await;
    assert!(stored.is_empty(), "a read-only viewer stored messages: {stored:?}");

    let (accept_status, accepted) =
        fixture.api(&fixture.officer_x, reqwest::Method::POST, &format!("/api/v1/requests/{open}/accept"), None).await;
    assert_eq!(accept_status, StatusCode::OK, "X takes request {open}: {accepted}");
    let closed = wait_closed(&mut socket).await;
    assert!(closed.is_ok(), "Y's WebSocket after X took the request: {closed:?}");
    let hidden = fixture.get(officer_y, &format!("/dashboard/requests/{open}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "Y after X took the request: {}", hidden.describe());
}

#[tokio::test]
async fn file_stays_in_its_request() {
    let fixture = Fixture::start().await;
    let (open, file) = (fixture.open_request, fixture.file);

    let mut owner =
        fixture.open_socket(&fixture.client_a, &format!("/portal/requests/{open}/ws")).await.expect("A joins");
    next_of(&mut owner, "history").await;
    let frame = json!({"type": "send", "client_id": "a-1", "file_id": file, "text": "the scan"});
    owner.send(Message::text(frame.to_string())).await.expect("send frame");
    let owner_error = next_of(&mut owner, "error").await;

    let officer_y = &fixture.officer_y;
    let (accept_status, accepted) =
        fixture.api(officer_y, reqwest::Method::POST, &format!("/api/v1/requests/{open}/accept"), None).await;
    let (post_status, post) = fixture
        .api(
            officer_y,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{open}/messages"),
            Some(json!({"client_id": "y-1", "file_id": file})),
        )
        .await;
    let api_download = fixture.get(officer_y, &format!("/api/v1/files/{file}")).await;
    let dashboard_download = fixture.get(officer_y, &format!("/dashboard/files/{file}")).await;
    let owner_download = fixture.get(&fixture.client_a, &format!("/portal/files/{file}")).await;

    let owner_message = owner_error["message"].as_str().expect("error message");
    assert!(
        owner_message.contains("does not belong to request"),
        "A attaching a file of another request: {owner_error}"
    );
    assert_eq!(accept_status, StatusCode::OK, "Y takes request {open}: {accepted}");
    assert_eq!(post_status, StatusCode::BAD_REQUEST, "Y attaching a file of another request: {post}");
    assert!(post["error"].as_str().unwrap_or("").contains("does not belong to request"), "{post}");
    assert_eq!(api_download.status, StatusCode::NOT_FOUND, "Y at the API file URL: {}", api_download.describe());
    assert_eq!(dashboard_download.status, StatusCode::NOT_FOUND, "Y at the dashboard file URL");
    assert_eq!(owner_download.status, StatusCode::OK, "the owner still reads the file through the portal");
    let stored = fixture
        .server
        .db(move |connection| {
            chat_messages::table
                .filter(chat_messages::request_id.eq(open))
                .select(ChatMessage::as_select())
                .load(connection)
        })
        .await;
    assert!(stored.is_empty(), "a message of request {open} refers to another request's file: {stored:?}");
}

#[tokio::test]
async fn unsent_file_stays_with_uploader() {
    let fixture = Fixture::start().await;
    let assigned = fixture.assigned_request;
    let officer_x = &fixture.officer_x;
    let client_a = &fixture.client_a;
    let upload = fixture
        .http
        .post(format!("{}/api/v1/requests/{assigned}/files?name=pixel.png", fixture.server.address))
        .bearer_auth(officer_x.bearer.as_deref().expect("token"))
        .body(PNG.to_vec())
        .send()
        .await
        .expect("upload request");
    assert_eq!(upload.status(), StatusCode::CREATED, "X uploads to request {assigned}");
    let staff_file = upload.json::<Value>().await.expect("upload JSON")["file"]["id"].as_i64().expect("file id");
    let client_file = upload_through_portal(&fixture.server, &fixture.client_a_browser, assigned).await;

    let mut owner = fixture.open_socket(client_a, &format!("/portal/requests/{assigned}/ws")).await.expect("A joins");
    next_of(&mut owner, "history").await;
    next_of(&mut owner, "status").await;
    let frame = json!({"type": "send", "client_id": "x", "file_id": staff_file, "text": "I sent this"});
    owner.send(Message::text(frame.to_string())).await.expect("send frame");
    let rejected = next_text_frame(&mut owner).await.expect("a reply to the send");
    let (post_status, post) = fixture
        .api(
            officer_x,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{assigned}/messages"),
            Some(json!({"client_id": "x-1", "file_id": client_file})),
        )
        .await;

    assert_eq!(rejected["type"], "error", "A sending X's unsent file: {rejected}");
    let rejected_message = rejected["message"].as_str().expect("error message");
    assert_eq!(rejected["client_id"], "x", "the rejection is permanent: {rejected}");
    assert!(rejected_message.contains(&format!("file {staff_file} ")), "{rejected_message}");
    assert!(rejected_message.contains("upload the file yourself"), "{rejected_message}");
    assert_eq!(post_status, StatusCode::BAD_REQUEST, "X sending A's unsent file: {post}");
    assert!(post["error"].as_str().unwrap_or("").contains(&format!("file {client_file} ")), "{post}");
    let stored = fixture
        .server
        .db(move |connection| {
            chat_messages::table
                .filter(chat_messages::request_id.eq(assigned))
                .select(ChatMessage::as_select())
                .load(connection)
        })
        .await;
    assert_eq!(stored.len(), 1, "only the fixture's message is stored: {stored:?}");

    // Before a message sends them, each file is readable only by its
    // uploader's side. For the other side it looks exactly like a missing
    // file.
    let unsent = [
        (staff_file, client_a, Door::PortalFile, NotFound),
        (staff_file, officer_x, Door::DashboardFile, Reads),
        (staff_file, officer_x, Door::ApiFile, Reads),
        (staff_file, &fixture.admin, Door::ApiFile, Reads),
        (client_file, client_a, Door::PortalFile, Reads),
        (client_file, officer_x, Door::DashboardFile, NotFound),
        (client_file, officer_x, Door::ApiFile, NotFound),
        (client_file, &fixture.admin, Door::DashboardFile, NotFound),
    ];
    let mut failures = Vec::new();
    for (file, person, door, expected) in &unsent {
        let file = file.to_string();
        let response = fixture.knock(person, *door, "0", &file).await;
        let got = classify(*door, &response, PNG);
        let cell = format!("unsent file {file}: {} at {door:?}", person.name);
        if got != *expected {
            failures.push(format!("{cell}: expected {expected:?}, got {got:?}"));
        } else if got == NotFound {
            let missing = fixture.knock(person, *door, "0", MISSING_ID).await;
            let ids = [file.as_str(), MISSING_ID];
            if without_ids(&response.text(), &ids) != without_ids(&missing.text(), &ids) {
                failures.push(format!("{cell}: the 404 differs from the one of a missing id"));
            }
        }
    }
    assert_no_failures(&failures);

    let (sent_status, sent) = fixture
        .api(
            officer_x,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{assigned}/messages"),
            Some(json!({"client_id": "x-2", "file_id": staff_file, "text": "Your form"})),
        )
        .await;
    assert_eq!(sent_status, StatusCode::CREATED, "X sends its own upload: {sent}");
    let frame = json!({"type": "send", "client_id": "a-2", "file_id": client_file});
    owner.send(Message::text(frame.to_string())).await.expect("send frame");
    // X's message may arrive first.
    let mut own_sent = next_of(&mut owner, "message").await;
    for _ in 0..3 {
        if own_sent["message"]["client_id"] == "a-2" {
            break;
        }
        own_sent = next_of(&mut owner, "message").await;
    }
    assert_eq!(own_sent["message"]["file"]["id"], client_file, "A sends its own upload: {own_sent}");

    let sent_files = [
        (staff_file, client_a, Door::PortalFile),
        (client_file, officer_x, Door::DashboardFile),
        (client_file, officer_x, Door::ApiFile),
    ];
    for (file, person, door) in sent_files {
        let response = fixture.knock(person, door, "0", &file.to_string()).await;
        let got = classify(door, &response, PNG);
        if got != Reads {
            failures.push(format!("sent file {file}: {} at {door:?}: expected Reads, got {got:?}", person.name));
        }
    }
    assert_no_failures(&failures);
}

#[test]
fn id_placeholder_replaces_whole_numbers() {
    let ids = ["1", "999999"];

    assert_eq!(without_ids("request 1 does not exist", &ids), "request {id} does not exist");
    assert_eq!(without_ids("/files/999999", &ids), "/files/{id}");
    assert_eq!(without_ids("v=1a2 and 12 and x1", &ids), "v=1a2 and 12 and x1");
    assert_ne!(without_ids("Request 1 of Seema", &ids), without_ids("Request 999999", &ids));
}
