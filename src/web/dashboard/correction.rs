//! `GET` and `POST /dashboard/flags/{id}/correct`: "correct and book". An
//! officer fixes the fields of a flagged booking SMS (agent, case code,
//! beneficiary name and phone, facility) and books it.
//!
//! The booking follows the rules of [`crate::booking`] with the officer in
//! place of the SMS. The agent must be registered and active, the facility
//! must be one of the agent's, and the slot is the earliest free one after
//! the lead time. A beneficiary who already has an upcoming appointment of
//! the case type is not booked twice. The sender check is skipped, because
//! the officer vouches for the booking. The task, the patient SMS, the
//! agent's confirmation and the flag's resolution (who, when, note, and
//! the new task) are written in one transaction.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime, TimeZone as _};
use diesel::prelude::*;

use super::form::{check_length, parse_code, Choice, Errors, Fact, FormData, FormPage, Widget};
use super::session::SignedIn;
use super::view::{label, local_time};
use super::{see_other, DashboardError};
use crate::booking::{enqueue_sms, take_earliest_slot, Appointment, BookingContext};
use crate::db::flags::FlaggedMessage;
use crate::db::ids::{AgentId, FacilityId, FlagId, TaskId};
use crate::db::inbound::InboundMessage;
use crate::db::organisation::{Agent, CaseType, Facility};
use crate::db::schema::flagged_messages;
use crate::db::scoped::{self, flag_status};
use crate::db::staff::Scope;
use crate::db::tasks::{actor, status as task_status, Beneficiary, NewTask, Task};
use crate::db::{write_transaction, DbConnection, DbError};
use crate::sms::phone::ascii_digits;
use crate::sms::{Command, PhoneNumber};
use crate::web::AppState;

/// Flag reasons of booking SMS that an officer can correct and book.
/// Follow-up replies and escalated tasks are settled differently.
pub const BOOKABLE_REASONS: [&str; 8] = [
    "unknown_agent",
    "inactive_agent",
    "sender_mismatch",
    "invalid_format",
    "unknown_case_type",
    "unknown_facility",
    "unassigned_facility",
    "no_free_slot",
];

/// Maximum length of a beneficiary name, in characters.
pub const MAX_NAME_LENGTH: usize = 100;
/// Maximum length of the resolution note, in characters.
pub const MAX_NOTE_LENGTH: usize = 1000;

/// Returns whether a flag is an open booking flag that can be corrected:
/// no task yet, a booking reason, and a text that is not a follow-up
/// reply (those start with `-`).
pub fn is_bookable(flag: &FlaggedMessage, text: Option<&str>) -> bool {
    flag.status == flag_status::OPEN
        && flag.task_id.is_none()
        && BOOKABLE_REASONS.contains(&flag.reason.as_str())
        && !text.is_some_and(|text| text.trim_start().starts_with('-'))
}

/// The form's values as typed.
#[derive(Debug, Clone, Default)]
struct Values {
    agent: String,
    case_code: String,
    name: String,
    phone: String,
    /// A facility code, or empty for any of the agent's facilities.
    facility: String,
    note: String,
}

/// A correction that passed the checks that need no database.
#[derive(Debug, Clone)]
pub struct Correction {
    pub agent: AgentId,
    pub case_code: String,
    pub name: String,
    pub phone: PhoneNumber,
    pub facility_code: Option<String>,
    pub note: String,
}

fn is_name_character(character: char) -> bool {
    let devanagari = ('\u{0900}'..='\u{097F}').contains(&character) && !('\u{0966}'..='\u{096F}').contains(&character);
    character.is_alphabetic() || devanagari || matches!(character, ' ' | '.' | '\'' | '-')
}

impl Values {
    fn read(form: &FormData) -> Self {
        Self {
            agent: form.get("agent"),
            case_code: form.get("case_code"),
            name: form.get("name"),
            phone: form.get("phone"),
            facility: form.get("facility"),
            note: form.get("note"),
        }
    }

    /// Fills the form from the flagged text: every field when it parses as
    /// a booking, else what can be picked out of its words.
    fn guess(text: &str, flag_agent: Option<AgentId>) -> Self {
        if let Ok(Command::Booking(request)) = crate::sms::parse(text) {
            return Self {
                agent: request.agent_id.to_string(),
                case_code: request.case_code,
                name: request.beneficiary_name,
                phone: request.beneficiary_phone.to_string(),
                facility: request.facility_code.unwrap_or_default(),
                note: String::new(),
            };
        }

        let words: Vec<String> = text
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '*' | '#'))
            .filter(|word| !word.is_empty())
            .map(ascii_digits)
            .collect();
        let mut values = Self { agent: flag_agent.map(|id| id.to_string()).unwrap_or_default(), ..Self::default() };
        let mut rest = words.as_slice();

        // Agent id, then case code, as far as the first words look like them.
        if let Some((first, tail)) = rest.split_first() {
            if first.chars().all(|c| c.is_ascii_digit()) {
                values.agent = first.clone();
                rest = tail;
            }
        }
        if let Some((first, tail)) = rest.split_first() {
            if first.chars().all(|c| c.is_ascii_alphanumeric()) && first.chars().any(|c| c.is_ascii_alphabetic()) {
                values.case_code = first.to_ascii_uppercase();
                rest = tail;
            }
        }

        // A phone may be typed in up to three groups, as in +91 98765 43210.
        let phone_at = (0..rest.len()).find_map(|start| {
            (1..=3).rev().filter(|length| start + length <= rest.len()).find_map(|length| {
                let joined = rest[start..start + length].concat();
                PhoneNumber::parse_indian_mobile(&joined).ok().map(|phone| (start, length, phone))
            })
        });
        let (name_words, after) = match phone_at {
            Some((start, length, phone)) => {
                values.phone = phone.to_string();
                (&rest[..start], &rest[start + length..])
            }
            None => (rest, &rest[rest.len()..]),
        };
        values.name = name_words.join(" ");
        // One word after the phone is a facility code.
        if let [facility] = after {
            values.facility = facility.to_ascii_uppercase();
        }
        values
    }

    fn check(&self, errors: &mut Errors) -> Option<Correction> {
        let agent = self.agent.parse::<i32>().ok().filter(|id| *id > 0).map(AgentId);
        if agent.is_none() {
            errors.add("agent", "Choose the agent who sent the booking.");
        }
        let case_code =
            parse_code(&self.case_code, 10).map_err(|_| errors.add("case_code", "Choose the case type.")).ok();
        let name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(problem) = check_length(&name, "beneficiary's name", MAX_NAME_LENGTH) {
            errors.add("name", problem);
        } else if !name.chars().all(is_name_character) {
            errors.add("name", "Use only letters, spaces, dots, hyphens and apostrophes in the name.");
        }
        let phone = match PhoneNumber::parse_indian_mobile(&self.phone) {
            Ok(phone) => Some(phone),
            Err(_) if self.phone.is_empty() => {
                errors.add("phone", "Enter the beneficiary's mobile number.");
                None
            }
            Err(_) => {
                errors.add(
                    "phone",
                    format!(
                        "'{}' is not an Indian mobile number: use 10 digits starting with 6 to 9, such as 9876543210.",
                        self.phone
                    ),
                );
                None
            }
        };
        let facility_code = match self.facility.as_str() {
            "" => None,
            code => match parse_code(code, 10) {
                Ok(code) => Some(code),
                Err(problem) => {
                    errors.add("facility", problem);
                    None
                }
            },
        };
        if self.note.chars().count() > MAX_NOTE_LENGTH {
            errors.add("note", format!("The note is longer than {MAX_NOTE_LENGTH} characters; shorten it."));
        }
        if !errors.is_empty() {
            return None;
        }
        Some(Correction {
            agent: agent?,
            case_code: case_code?,
            name,
            phone: phone?,
            facility_code,
            note: self.note.clone(),
        })
    }
}

/// Failure of a correction, which then booked nothing.
#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// No such flag in scope.
    #[error("flag not found")]
    NotFound,
    /// The flag was closed, or it is not a booking flag.
    #[error("the flag is closed or is not a booking")]
    NotBookable,
    /// Problems with the fields, to show beside them.
    #[error("the correction has invalid fields")]
    Invalid(Errors),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

fn invalid(field: &'static str, message: String) -> CorrectionError {
    let mut errors = Errors::default();
    errors.add(field, message);
    CorrectionError::Invalid(errors)
}

/// Books a corrected flagged message and resolves the flag, in one write
/// transaction. Any error rolls everything back, including the slot place.
pub fn book_correction(
    connection: &mut DbConnection,
    context: &BookingContext,
    scope: &Scope,
    flag_id: FlagId,
    correction: &Correction,
    by: &str,
    now: NaiveDateTime,
) -> Result<TaskId, CorrectionError> {
    write_transaction(connection, |connection| {
        let flag = scoped::find_flag(connection, scope, flag_id)?.ok_or(CorrectionError::NotFound)?;
        let message = match flag.inbound_message_id {
            Some(id) => InboundMessage::find(connection, id)?,
            None => None,
        };
        if !is_bookable(&flag, message.as_ref().map(|message| message.text.as_str())) {
            return Err(CorrectionError::NotBookable);
        }

        let visible = scoped::visible(connection, scope)?;
        let agent = Agent::find(connection, correction.agent)?
            .filter(|agent| visible.as_ref().is_none_or(|visible| visible.agents.contains(&Some(agent.id))))
            .ok_or_else(|| invalid("agent", format!("There is no agent {} among your agents.", correction.agent)))?;
        if !agent.active {
            return Err(invalid(
                "agent",
                format!("Agent {} ({}) is inactive: an admin must activate the agent first.", agent.id, agent.name),
            ));
        }
        let case_type = CaseType::find_by_code(connection, &correction.case_code)?
            .ok_or_else(|| invalid("case_code", format!("Case code {} is unknown.", correction.case_code)))?;

        let facilities: Vec<Facility> = Facility::of_agent(connection, agent.id)?
            .into_iter()
            .filter(|facility| visible.as_ref().is_none_or(|visible| visible.facilities.contains(&facility.id)))
            .collect();
        let codes = facilities.iter().map(|facility| facility.code.as_str()).collect::<Vec<_>>().join(", ");
        if facilities.is_empty() {
            return Err(invalid(
                "agent",
                format!("Agent {} works at none of your facilities, so the booking has nowhere to go.", agent.id),
            ));
        }
        let candidates: Vec<FacilityId> = match &correction.facility_code {
            Some(code) => match facilities.iter().find(|facility| &facility.code == code) {
                Some(facility) => vec![facility.id],
                None => {
                    return Err(invalid(
                        "facility",
                        format!("Agent {} does not work at {code}; choose one of {codes}, or any.", agent.id),
                    ))
                }
            },
            None => facilities.iter().map(|facility| facility.id).collect(),
        };

        let phone = correction.phone.as_str();
        if let Some(existing) = Task::upcoming_for(connection, phone, case_type.id, now)? {
            return Err(invalid(
                "phone",
                format!(
                    "{} already has an upcoming {} appointment (task {}); dismiss this flag instead.",
                    correction.phone, case_type.code, existing.id
                ),
            ));
        }

        let not_before = now + Duration::minutes(i64::from(context.settings.booking.min_lead_minutes));
        let Some(slot) = take_earliest_slot(connection, &case_type, &candidates, not_before)? else {
            let at = correction.facility_code.clone().unwrap_or(codes);
            let after = context.zone.from_utc_datetime(&not_before).format("%d-%m-%Y %H:%M");
            return Err(invalid(
                "facility",
                format!(
                    "No free {} slot after {after} at {at}: add slots, or choose another facility.",
                    case_type.code
                ),
            ));
        };

        let beneficiary = Beneficiary::find_or_create(connection, phone, &correction.name, now)?;
        let cause = format!("booked by {by} from flag {flag_id}");
        let task = Task::create(
            connection,
            &NewTask {
                agent_id: agent.id,
                case_type_id: case_type.id,
                facility_id: slot.facility_id,
                slot_id: slot.id,
                beneficiary_id: beneficiary.id,
                beneficiary_name: &correction.name,
                beneficiary_phone: phone,
                status: task_status::BOOKED,
                reschedule_count: 0,
                inbound_message_id: flag.inbound_message_id,
                created_at: now,
                updated_at: now,
                requested_facility_id: correction.facility_code.as_ref().map(|_| slot.facility_id),
            },
            actor::OFFICER,
            &cause,
        )?;

        let facility = Facility::find(connection, slot.facility_id)?;
        let agent_language = agent.language.parse().unwrap_or(context.settings.agents.default_language);
        let patient_language =
            beneficiary.language.as_deref().and_then(|code| code.parse().ok()).unwrap_or(agent_language);
        let appointment = Appointment::new(context.zone, &slot, &facility, &case_type, &correction.name);
        let patient_text = appointment.render(&context.catalog, patient_language, "patient-appointment");
        enqueue_sms(connection, phone, patient_text, Some(task.id), flag.inbound_message_id, now)?;
        if context.settings.booking.confirm_to_agent {
            let agent_text = appointment.render(&context.catalog, agent_language, "agent-booked");
            enqueue_sms(connection, &agent.phone, agent_text, Some(task.id), flag.inbound_message_id, now)?;
        }

        let note = if correction.note.is_empty() {
            format!("Corrected and booked as task {}", task.id)
        } else {
            format!("Corrected and booked as task {}: {}", task.id, correction.note)
        };
        let resolved = diesel::update(
            flagged_messages::table.find(flag_id).filter(flagged_messages::status.eq(flag_status::OPEN)),
        )
        .set((
            flagged_messages::status.eq(flag_status::RESOLVED),
            flagged_messages::resolved_by.eq(by),
            flagged_messages::resolution_note.eq(&note),
            flagged_messages::resolved_at.eq(now),
            flagged_messages::task_id.eq(task.id),
        ))
        .execute(connection)?;
        if resolved == 0 {
            return Err(CorrectionError::NotBookable);
        }
        Ok(task.id)
    })
}

/// The flag and its message as the form shows them.
struct Flagged {
    flag: FlaggedMessage,
    message: Option<InboundMessage>,
}

async fn load_flag(state: &AppState, signed_in: &SignedIn, id: FlagId) -> Result<Flagged, DashboardError> {
    let scope = signed_in.scope.clone();
    let found = state
        .engine
        .database
        .run(move |connection| {
            let Some(flag) = scoped::find_flag(connection, &scope, id)? else {
                return Ok::<_, DbError>(None);
            };
            let message = match flag.inbound_message_id {
                Some(message_id) => InboundMessage::find(connection, message_id)?,
                None => None,
            };
            Ok(Some(Flagged { flag, message }))
        })
        .await?;
    found.ok_or(DashboardError::NotFound)
}

async fn form_page(
    state: &AppState,
    signed_in: &SignedIn,
    flagged: &Flagged,
    values: &Values,
    errors: &Errors,
) -> Result<HttpResponse, DashboardError> {
    let zone = state.engine.settings.zone();
    let scope = signed_in.scope.clone();
    let choices = state
        .engine
        .database
        .run(move |connection| scoped::filter_choices(connection, &scope).map_err(DbError::from))
        .await?;

    let agents = choices
        .agents
        .iter()
        .map(|agent| {
            let text = format!("{} ({}){}", agent.name, agent.id, if agent.active { "" } else { ", inactive" });
            Choice::new(agent.id, text, agent.id.to_string() == values.agent)
        })
        .collect();
    let case_types = choices
        .case_types
        .iter()
        .map(|case_type| {
            let text = format!("{} ({})", case_type.name, case_type.code);
            Choice::new(&case_type.code, text, case_type.code == values.case_code)
        })
        .collect();
    let facilities = choices
        .facilities
        .iter()
        .map(|facility| {
            let text = format!("{} ({})", facility.name, facility.code);
            Choice::new(&facility.code, text, facility.code == values.facility)
        })
        .collect();

    let id = flagged.flag.id;
    let mut page = FormPage::new(
        signed_in,
        "flags",
        format!("Correct and book flag {id}"),
        format!("/dashboard/flags/{id}/correct"),
    );
    page.back = ("/dashboard/flags".to_owned(), "Flagged messages".to_owned());
    page.intro = "Fix what the agent typed, then book. The patient and the agent get the usual SMS, and the flag is resolved with your note.".to_owned();
    page.facts.push(Fact {
        term: "Reason".to_owned(),
        detail: format!("{}: {}", label(&flagged.flag.reason), flagged.flag.detail),
    });
    if let Some(message) = &flagged.message {
        page.facts.push(Fact { term: "From".to_owned(), detail: message.sender.clone() });
        page.facts.push(Fact { term: "Received".to_owned(), detail: local_time(zone, message.received_at) });
        page.facts.push(Fact { term: "Message".to_owned(), detail: message.text.clone() });
    }
    page.submit_label = "Book".to_owned();
    page.widgets = vec![
        Widget::select("agent", "Agent", agents, errors).placeholder("Choose…").required().into(),
        Widget::select("case_code", "Case type", case_types, errors).placeholder("Choose…").required().into(),
        Widget::input("name", "Beneficiary's name", &values.name, errors).required().autocomplete("off").into(),
        Widget::input("phone", "Beneficiary's mobile number", &values.phone, errors)
            .kind("tel")
            .required()
            .hint("10 digits, such as 9876543210.")
            .into(),
        Widget::select("facility", "Facility", facilities, errors)
            .placeholder("Any of the agent's facilities")
            .hint("Leave at any to book the earliest free slot at the agent's facilities.")
            .into(),
        Widget::text_area("note", "Note for the flag", &values.note, errors)
            .hint("Why and how it was corrected.")
            .into(),
    ];
    page.respond(errors)
}

fn parse_path(path: web::Path<String>) -> Result<FlagId, DashboardError> {
    path.into_inner().parse::<i32>().map(FlagId).map_err(|_| DashboardError::NotFound)
}

/// `GET /dashboard/flags/{id}/correct`
pub async fn form(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, DashboardError> {
    let id = parse_path(path)?;
    let flagged = load_flag(&state, &signed_in, id).await?;
    let text = flagged.message.as_ref().map(|message| message.text.as_str());
    if !is_bookable(&flagged.flag, text) {
        return Ok(see_other("/dashboard/flags?notice=not_bookable"));
    }
    let values = Values::guess(text.unwrap_or(""), flagged.flag.agent_id);
    form_page(&state, &signed_in, &flagged, &values, &Errors::default()).await
}

/// `POST /dashboard/flags/{id}/correct`
pub async fn book(
    request: HttpRequest,
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, DashboardError> {
    let form = FormData::from(form.into_inner());
    form.check_csrf(&signed_in, &request)?;
    let id = parse_path(path)?;
    let flagged = load_flag(&state, &signed_in, id).await?;
    let values = Values::read(&form);
    let mut errors = Errors::default();
    let Some(correction) = values.check(&mut errors) else {
        return form_page(&state, &signed_in, &flagged, &values, &errors).await;
    };

    let context = state.engine.booking.clone();
    let scope = signed_in.scope.clone();
    let by = signed_in.user.email.clone();
    let now = state.engine.clock.now_naive();
    let booked = state
        .engine
        .database
        .run(move |connection| {
            Ok::<_, DbError>(book_correction(connection, &context, &scope, id, &correction, &by, now))
        })
        .await?;

    match booked {
        Ok(task_id) => {
            let staff = signed_in.user.id;
            tracing::info!(staff_id = %staff, flag_id = %id, %task_id, "staff user {staff} corrected flag {id} and booked task {task_id}");
            Ok(see_other(&format!("/dashboard/tasks/{task_id}")))
        }
        Err(CorrectionError::Invalid(errors)) => form_page(&state, &signed_in, &flagged, &values, &errors).await,
        Err(CorrectionError::NotFound) => Err(DashboardError::NotFound),
        Err(CorrectionError::NotBookable) => Ok(see_other("/dashboard/flags?notice=not_bookable")),
        Err(CorrectionError::Database(error)) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guess_reads_a_parsable_booking() {
        let values = Values::guess("12 ANC Seema Devi 9876543210 WGL", None);

        assert_eq!(values.agent, "12");
        assert_eq!(values.case_code, "ANC");
        assert_eq!(values.name, "Seema Devi");
        assert_eq!(values.phone, "+919876543210");
        assert_eq!(values.facility, "WGL");
    }

    #[test]
    fn guess_picks_words_of_a_broken_booking() {
        let short = Values::guess("ANC Lata Shinde 98765 0000", Some(AgentId(12)));
        let grouped = Values::guess("12 XYZ Lata Shinde +91 98765 00002 WGL", None);

        assert_eq!(short.agent, "12");
        assert_eq!(short.case_code, "ANC");
        assert_eq!(short.phone, "");
        assert_eq!(grouped.case_code, "XYZ");
        assert_eq!(grouped.name, "Lata Shinde");
        assert_eq!(grouped.phone, "+919876500002");
        assert_eq!(grouped.facility, "WGL");
    }

    #[test]
    fn names_allow_devanagari_and_reject_digits() {
        let mut errors = Errors::default();
        let values = Values {
            agent: "12".into(),
            case_code: "anc".into(),
            name: "  लक्ष्मी   Devi ".into(),
            phone: "98765 43210".into(),
            facility: String::new(),
            note: String::new(),
        };

        let correction = values.check(&mut errors).expect("valid correction");
        assert_eq!(correction.name, "लक्ष्मी Devi");
        assert_eq!(correction.case_code, "ANC");
        assert_eq!(correction.phone.as_str(), "+919876543210");

        let mut errors = Errors::default();
        let digits = Values { name: "Seema 2".into(), ..values };
        assert!(digits.check(&mut errors).is_none());
        assert!(errors.get("name").is_some());
    }
}
