//! The client's requests: the home page with the two ways to ask for help
//! and the list of requests, the new-request form, and a request's page
//! with its chat.

use actix_web::error::UrlencodedError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{SignedInClient, HOME_PATH};
use super::view::{Layout, Texts};
use super::{parse_path_id, render, render_with_status, see_other, PortalError};
use crate::db::client_requests::{origin, status, ClientRequest, NewClientRequest};
use crate::db::ids::{ClientRequestId, CorporationId};
use crate::db::organisation::Corporation;
use crate::db::{write_transaction, DbError};
use crate::sms::PhoneNumber;
use crate::web::dashboard::form::{Choice, ErrorLink, Errors};
use crate::web::dashboard::view::local_time;
use crate::web::AppState;

/// Request categories as stored, in the order the form lists them.
pub const CATEGORIES: [&str; 5] = ["health", "documents", "benefits", "appointment", "other"];

/// Maximum length of a description, in characters.
pub const MAX_DESCRIPTION_LENGTH: usize = 2000;

/// Largest new-request form body accepted, in bytes. Browsers percent-encode
/// each UTF-8 byte as three characters, so a description of
/// [`MAX_DESCRIPTION_LENGTH`] Devanagari characters (three bytes each) is
/// about 18 KB, over actix's default limit of 16 KiB. This limit leaves room
/// for four-byte characters (24 KB) and the other fields.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Returns the form settings of `POST /portal/requests`.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default().limit(MAX_FORM_BYTES)
}

/// The error key of a problem with the whole form rather than one field. It
/// is also the id of the page's main content, which the summary links to.
const FORM_ERROR: &str = "main";

/// Maximum length of a contact name, in characters.
pub const MAX_NAME_LENGTH: usize = 100;

/// Returns the catalogue id of a category's label.
fn category_label_id(category: &str) -> &'static str {
    match category {
        "health" => "portal-category-health",
        "documents" => "portal-category-documents",
        "benefits" => "portal-category-benefits",
        "appointment" => "portal-category-appointment",
        _ => "portal-category-other",
    }
}

/// Returns the catalogue id of a request status's label.
fn status_label_id(status: &str) -> &'static str {
    match status {
        status::OPEN => "portal-status-open",
        status::ASSIGNED => "portal-status-assigned",
        _ => "portal-status-closed",
    }
}

/// One line of the home page's list.
#[derive(Debug, Clone)]
struct RequestRow {
    id: ClientRequestId,
    category: String,
    area: String,
    status: String,
    status_label: String,
    created: String,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    layout: Layout,
    requests: Vec<RequestRow>,
    /// The reason no new request can be made, when the client is at the limit.
    limit_notice: Option<String>,
}

/// `GET /portal`: sends the browser to the home page.
pub async fn redirect_home() -> HttpResponse {
    see_other(HOME_PATH)
}

/// `GET /portal/`: the two ways to ask for help and the client's requests,
/// newest first.
pub async fn home(state: web::Data<AppState>, signed_in: SignedInClient) -> Result<HttpResponse, PortalError> {
    let client_id = signed_in.client.id;
    let (requests, corporations) = state
        .engine
        .database
        .run(move |connection| {
            Ok::<_, DbError>((ClientRequest::for_client(connection, client_id)?, Corporation::all(connection)?))
        })
        .await?;

    let texts = Texts::new(&state, signed_in.client.language());
    let zone = state.engine.settings.zone();
    let rows = requests
        .iter()
        .map(|request| RequestRow {
            id: request.id,
            category: texts.get(category_label_id(&request.category)),
            area: area_name(&corporations, request.corporation_id),
            status: request.status.clone(),
            status_label: texts.get(status_label_id(&request.status)),
            created: local_time(zone, request.created_at),
        })
        .collect();
    // At the limit the two ways to ask are replaced by the reason, so no
    // one fills a form that would be refused.
    let limit = state.engine.settings.portal.max_unclosed_requests;
    let unclosed = requests.iter().filter(|request| request.status != status::CLOSED).count();
    let limit_notice =
        (unclosed >= limit as usize).then(|| texts.with("portal-error-too-many-requests", "max", &limit.to_string()));
    let title = texts.get("portal-home-title");
    let page =
        HomePage { layout: Layout::signed_in(texts, title, &signed_in, HOME_PATH), requests: rows, limit_notice };
    render(&page)
}

fn area_name(corporations: &[Corporation], id: CorporationId) -> String {
    corporations
        .iter()
        .find(|corporation| corporation.id == id)
        .map(|corporation| corporation.name.clone())
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    origin: Option<String>,
}

/// The fields of the new-request form, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    description: String,
}

#[derive(Template)]
#[template(path = "portal/new.html")]
struct NewRequestPage {
    layout: Layout,
    /// `form` or `chat`. The chat form has only the area and category fields.
    origin: &'static str,
    csrf_token: String,
    name: String,
    phone: String,
    description: String,
    categories: Vec<Choice>,
    areas: Vec<Choice>,
    errors: Errors,
    summary: Vec<ErrorLink>,
    /// The heading above the summary: fields to correct, or a request that
    /// cannot be sent as it is.
    summary_title: String,
    max_description: usize,
    max_name: usize,
}

impl NewRequestPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn parse_origin(text: &str) -> &'static str {
    if text == origin::CHAT {
        origin::CHAT
    } else {
        origin::FORM
    }
}

/// `GET /portal/requests/new?origin=form|chat`: the empty form, with the
/// client's WhatsApp name and phone filled in.
pub async fn new_form(
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, PortalError> {
    let form = RequestForm {
        origin: query.origin.clone().unwrap_or_default(),
        name: signed_in.client.display_name.clone(),
        phone: signed_in.client.phone.clone().unwrap_or_default(),
        ..RequestForm::default()
    };
    let corporations = load_corporations(&state).await?;
    new_page(&state, &signed_in, &corporations, form, Errors::default(), StatusCode::OK)
}

async fn load_corporations(state: &AppState) -> Result<Vec<Corporation>, PortalError> {
    Ok(state.engine.database.run(|connection| Corporation::all(connection).map_err(DbError::from)).await?)
}

/// Renders the form with `form`'s values and `errors` beside their fields.
/// The area is preselected when there is only one.
fn new_page(
    state: &AppState,
    signed_in: &SignedInClient,
    corporations: &[Corporation],
    form: RequestForm,
    errors: Errors,
    status: StatusCode,
) -> Result<HttpResponse, PortalError> {
    let texts = Texts::new(state, signed_in.client.language());
    let origin = parse_origin(&form.origin);
    let categories = CATEGORIES
        .iter()
        .map(|category| Choice::new(category, texts.get(category_label_id(category)), form.category == *category))
        .collect();
    let only_one = corporations.len() == 1;
    let areas = corporations
        .iter()
        .map(|corporation| {
            let selected = only_one || form.area == corporation.id.to_string();
            Choice::new(corporation.id, corporation.name.clone(), selected)
        })
        .collect();
    // An error of the whole form, such as the request limit, has no field
    // to correct.
    let summary = errors.summary();
    let whole_form = summary.iter().all(|error| error.field == FORM_ERROR);
    let summary_title = texts.get(if whole_form { "portal-errors-not-sent-title" } else { "portal-errors-title" });
    let title_id = if origin == origin::CHAT { "portal-new-chat-title" } else { "portal-new-form-title" };
    let title = texts.get(title_id);
    let current_path = format!("/portal/requests/new?origin={origin}");
    let page = NewRequestPage {
        layout: Layout::signed_in(texts, title, signed_in, &current_path),
        origin,
        csrf_token: signed_in.csrf.clone(),
        name: form.name,
        phone: form.phone,
        description: form.description,
        categories,
        areas,
        summary,
        summary_title,
        errors,
        max_description: MAX_DESCRIPTION_LENGTH,
        max_name: MAX_NAME_LENGTH,
    };
    render_with_status(status, &page)
}

/// Returns whether a form extraction failed because the body is over the
/// limit.
fn is_too_large(error: &actix_web::Error) -> bool {
    matches!(error.as_error::<UrlencodedError>(), Some(UrlencodedError::Overflow { .. }))
}

/// A request that passed validation, ready to store.
struct ValidRequest {
    corporation_id: CorporationId,
    category: &'static str,
    contact_name: String,
    contact_phone: String,
    description: String,
}

/// Checks the form and returns the request to store, or the translated
/// problem of each field. Fields are checked in the order the form shows
/// them (name, phone, category, area, description), because the error
/// summary lists the problems in the order they were added.
fn validate(
    form: &RequestForm,
    signed_in: &SignedInClient,
    corporations: &[Corporation],
    texts: &Texts,
) -> Result<ValidRequest, Errors> {
    let mut errors = Errors::default();
    if parse_origin(&form.origin) == origin::CHAT {
        let (category, corporation_id) = validate_category_and_area(form, corporations, texts, &mut errors);
        let contact_name = match signed_in.client.display_name.trim() {
            "" => signed_in.client.login.clone(),
            name => name.to_owned(),
        };
        let contact_phone = signed_in.client.phone.clone().unwrap_or_default();
        return if errors.is_empty() {
            Ok(ValidRequest { corporation_id, category, contact_name, contact_phone, description: String::new() })
        } else {
            Err(errors)
        };
    }

    // Invisible characters are dropped, so a name cannot reorder the text
    // around it where staff read it.
    let name = crate::text::one_line(&form.name);
    let name = name.trim();
    if name.is_empty() {
        errors.add("name", texts.get("portal-error-name-missing"));
    } else if name.chars().count() > MAX_NAME_LENGTH {
        errors.add("name", texts.with("portal-error-name-long", "max", &MAX_NAME_LENGTH.to_string()));
    }

    let phone = match form.phone.trim() {
        "" => {
            errors.add("phone", texts.get("portal-error-phone-missing"));
            None
        }
        typed => match PhoneNumber::parse_e164(typed) {
            Ok(phone) => Some(phone),
            Err(_) => {
                errors.add("phone", texts.get("portal-error-phone-invalid"));
                None
            }
        },
    };

    let (category, corporation_id) = validate_category_and_area(form, corporations, texts, &mut errors);

    let description = crate::text::multi_line(&form.description);
    let description = description.trim();
    if description.is_empty() {
        errors.add("description", texts.get("portal-error-description-missing"));
    } else if description.chars().count() > MAX_DESCRIPTION_LENGTH {
        let max = MAX_DESCRIPTION_LENGTH.to_string();
        errors.add("description", texts.with("portal-error-description-long", "max", &max));
    }

    match phone {
        Some(phone) if errors.is_empty() => Ok(ValidRequest {
            corporation_id,
            category,
            contact_name: name.to_owned(),
            contact_phone: phone.as_str().to_owned(),
            description: description.to_owned(),
        }),
        _ => Err(errors),
    }
}

/// Checks the category and then the area, the two fields both forms have,
/// and adds their problems to `errors`. An invalid field comes back as `""`
/// or `CorporationId(0)`, which the caller never stores because `errors` is
/// then not empty.
fn validate_category_and_area(
    form: &RequestForm,
    corporations: &[Corporation],
    texts: &Texts,
    errors: &mut Errors,
) -> (&'static str, CorporationId) {
    let category = match CATEGORIES.iter().find(|category| **category == form.category.trim()) {
        Some(category) => *category,
        None => {
            errors.add("category", texts.get("portal-error-category"));
            ""
        }
    };
    let area = form.area.trim().parse::<i32>().ok().map(CorporationId);
    let corporation_id = match area.filter(|id| corporations.iter().any(|corporation| corporation.id == *id)) {
        Some(id) => id,
        None => {
            errors.add("area", texts.get("portal-error-area"));
            CorporationId(0)
        }
    };
    (category, corporation_id)
}

/// `POST /portal/requests`: stores a new open request and opens its page
/// (at the chat for the chat choice). A rejected form is shown again with
/// status 422, each problem beside its field and every field as typed. A
/// body over [`MAX_FORM_BYTES`] cannot be read, so the empty form comes
/// back with status 413 and the description's length error.
pub async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    form: Result<web::Form<RequestForm>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let corporations = load_corporations(&state).await?;
    let texts = Texts::new(&state, signed_in.client.language());
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(error) if is_too_large(&error) => {
            tracing::info!(client_id = %signed_in.client.id, %error, "rejected a new-request form over the size limit");
            let mut errors = Errors::default();
            let max = MAX_DESCRIPTION_LENGTH.to_string();
            errors.add("description", texts.with("portal-error-description-long", "max", &max));
            let form = RequestForm { origin: origin::FORM.to_owned(), ..RequestForm::default() };
            return Ok(new_page(&state, &signed_in, &corporations, form, errors, StatusCode::PAYLOAD_TOO_LARGE)?);
        }
        Err(error) => return Err(error),
    };
    signed_in.check_csrf(&form.csrf_token, &request)?;

    let valid = match validate(&form, &signed_in, &corporations, &texts) {
        Ok(valid) => valid,
        Err(errors) => {
            return Ok(new_page(&state, &signed_in, &corporations, form, errors, StatusCode::UNPROCESSABLE_ENTITY)?);
        }
    };

    let origin = parse_origin(&form.origin);
    let client_id = signed_in.client.id;
    let limit = state.engine.settings.portal.max_unclosed_requests;
    let now = state.engine.clock.now_naive();
    let stored = state
        .engine
        .database
        .run(move |connection| {
            write_transaction(connection, |connection| {
                // Counted under the write lock, so two forms sent at once
                // cannot both pass the limit.
                if ClientRequest::unclosed_for_client(connection, client_id)? >= i64::from(limit) {
                    return Ok(None);
                }
                ClientRequest::insert(
                    connection,
                    &NewClientRequest {
                        client_id,
                        corporation_id: valid.corporation_id,
                        origin,
                        category: valid.category,
                        contact_name: &valid.contact_name,
                        contact_phone: &valid.contact_phone,
                        description: &valid.description,
                        status: status::OPEN,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .map(Some)
            })
            .map_err(DbError::from)
        })
        .await
        .map_err(PortalError::from)?;
    let Some(stored) = stored else {
        tracing::info!(client_id = %client_id, limit, "rejected a new request: the client has {limit} requests that are not closed");
        let mut errors = Errors::default();
        errors.add(FORM_ERROR, texts.with("portal-error-too-many-requests", "max", &limit.to_string()));
        return Ok(new_page(&state, &signed_in, &corporations, form, errors, StatusCode::CONFLICT)?);
    };
    tracing::info!(
        client_id = %client_id,
        request_id = %stored.id,
        corporation_id = %stored.corporation_id,
        origin,
        "client {client_id} created request {}",
        stored.id
    );

    let anchor = if origin == origin::CHAT { "#chat" } else { "" };
    Ok(see_other(&format!("/portal/requests/{}{anchor}", stored.id)))
}

/// The data attributes and labels of the chat section, which
/// `static/chat.js` turns into a live chat.
#[derive(Debug, Clone)]
struct ChatSection {
    ws_url: String,
    upload_url: String,
    can_write: bool,
    /// The IANA name of the business time zone, in which the script shows
    /// message times, like the times on the page.
    time_zone: &'static str,
}

#[derive(Template)]
#[template(path = "portal/request.html")]
struct RequestPage {
    layout: Layout,
    request: ClientRequest,
    category: String,
    area: String,
    status_label: String,
    created: String,
    csrf_token: String,
    chat: ChatSection,
}

/// `GET /portal/requests/{id}`: a request's details, status and chat.
/// Another client's request is not found, exactly like a missing one.
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedInClient,
    path: web::Path<String>,
) -> Result<HttpResponse, PortalError> {
    let id = ClientRequestId(parse_path_id(&path)?);
    let viewer = signed_in.viewer();
    let found = {
        let viewer = viewer.clone();
        state
            .engine
            .database
            .run(move |connection| {
                let Some(request) = ClientRequest::visible(connection, &viewer, id)? else {
                    return Ok::<_, DbError>(None);
                };
                let area = Corporation::find(connection, request.corporation_id)?;
                Ok(Some((request, area)))
            })
            .await?
    };
    let Some((request, area)) = found else {
        return Err(PortalError::NotFound);
    };

    let texts = Texts::new(&state, signed_in.client.language());
    let zone = state.engine.settings.zone();
    let title = texts.with("portal-request-title", "id", &request.id.to_string());
    let current_path = format!("/portal/requests/{id}");
    let chat = ChatSection {
        ws_url: format!("/portal/requests/{id}/ws"),
        upload_url: format!("/portal/requests/{id}/files"),
        can_write: viewer.can_write(&request),
        time_zone: zone.name(),
    };
    let page = RequestPage {
        category: texts.get(category_label_id(&request.category)),
        area: area.map(|corporation| corporation.name).unwrap_or_default(),
        status_label: texts.get(status_label_id(&request.status)),
        created: local_time(zone, request.created_at),
        csrf_token: signed_in.csrf.clone(),
        layout: Layout::signed_in(texts, title, &signed_in, &current_path),
        request,
        chat,
    };
    render(&page)
}
