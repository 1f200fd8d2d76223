//! The booking engine: stores arrivals, then turns each stored message into
//! a booked task or a flag, with the SMS that follow from it, in one
//! transaction.

pub mod intake;
pub mod rejection;

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use diesel::QueryResult;

use crate::config::Settings;
use crate::db::flags::{FlaggedMessage, NewFlaggedMessage};
use crate::db::ids::{AgentId, FlagId, InboundId, TaskId};
use crate::db::inbound::{status as inbound_status, InboundMessage};
use crate::db::organisation::{Agent, CaseType, Facility};
use crate::db::outbound::{status as outbound_status, NewOutboundMessage, OutboundMessage};
use crate::db::slots::Slot;
use crate::db::tasks::{actor, status as task_status, Beneficiary, NewTask, Task};
use crate::db::{write_transaction, DbConnection};
use crate::sms::{BookingRequest, Catalog, Command, Language, PhoneNumber};

pub use rejection::Rejection;

/// Everything processing needs besides the connection.
#[derive(Debug, Clone)]
pub struct BookingContext {
    pub settings: Arc<Settings>,
    pub catalog: Arc<Catalog>,
    pub zone: Tz,
}

/// The result of processing one inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Booked {
        task_id: TaskId,
    },
    /// The same booking was made before; the agent got the existing one.
    AlreadyBooked {
        task_id: TaskId,
    },
    /// A follow-up reply to hand to the task's actor.
    ForTask {
        task_id: TaskId,
    },
    Flagged {
        flag_id: FlagId,
        reason: &'static str,
    },
}

impl Outcome {
    /// The value stored in `inbound_messages.outcome`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Booked { .. } => "booked",
            Outcome::AlreadyBooked { .. } => "already_booked",
            Outcome::ForTask { .. } => "for_task",
            Outcome::Flagged { .. } => "flagged",
        }
    }
}

/// How many free slots are tried per round when another booking takes the
/// candidate first.
const SLOT_CANDIDATES: i64 = 8;

/// Processes one stored inbound message in a single write transaction.
/// Returns `None` when the message does not exist or was processed before,
/// so processing twice changes nothing.
pub fn process_inbound(
    connection: &mut DbConnection,
    context: &BookingContext,
    id: InboundId,
    now: NaiveDateTime,
) -> QueryResult<Option<Outcome>> {
    write_transaction(connection, |connection| {
        let Some(message) = InboundMessage::find(connection, id)? else {
            return Ok(None);
        };
        if message.status != inbound_status::RECEIVED {
            return Ok(None);
        }

        let outcome = match handle(connection, context, &message, now)? {
            Handled::Booked(task_id) => Outcome::Booked { task_id },
            Handled::AlreadyBooked(task_id) => Outcome::AlreadyBooked { task_id },
            // Left `received`: the task actor marks it processed when it
            // applies the reply.
            Handled::ForTask(task_id) => return Ok(Some(Outcome::ForTask { task_id })),
            Handled::Rejected { rejection, agent, is_follow_up } => {
                let flag_id =
                    record_rejection(connection, context, &message, agent.as_ref(), &rejection, is_follow_up, now)?;
                Outcome::Flagged { flag_id, reason: rejection.code() }
            }
        };
        InboundMessage::mark_processed(connection, id, outcome.as_str(), now)?;
        Ok(Some(outcome))
    })
}

enum Handled {
    Booked(TaskId),
    /// The beneficiary already has an upcoming task of this case type.
    AlreadyBooked(TaskId),
    /// A follow-up reply for this task; its task actor applies it.
    ForTask(TaskId),
    Rejected {
        rejection: Rejection,
        agent: Option<Agent>,
        is_follow_up: bool,
    },
}

fn rejected(rejection: Rejection, agent: Option<Agent>, is_follow_up: bool) -> QueryResult<Handled> {
    Ok(Handled::Rejected { rejection, agent, is_follow_up })
}

fn handle(
    connection: &mut DbConnection,
    context: &BookingContext,
    message: &InboundMessage,
    now: NaiveDateTime,
) -> QueryResult<Handled> {
    let is_follow_up = message.text.trim_start().starts_with('-');
    let sender_agent = match PhoneNumber::parse_e164(&message.sender) {
        Ok(phone) => Agent::find_by_phone(connection, phone.as_str())?,
        Err(_) => None,
    };

    if message.text.contains('\u{FFFD}') {
        return rejected(Rejection::InvalidEncoding, sender_agent, is_follow_up);
    }
    let command = match crate::sms::parse(&message.text) {
        Ok(command) => command,
        Err(error) => return rejected(Rejection::InvalidFormat(error), sender_agent, is_follow_up),
    };

    match command {
        Command::Booking(request) => book(connection, context, message, &request, now),
        Command::FollowUpReply(reply) => {
            match crate::followup::reply::resolve(connection, sender_agent.as_ref(), &message.sender, &reply)? {
                Ok(resolved) => Ok(Handled::ForTask(resolved.task.id)),
                Err(rejection) => rejected(rejection, sender_agent, true),
            }
        }
    }
}

fn book(
    connection: &mut DbConnection,
    context: &BookingContext,
    message: &InboundMessage,
    request: &BookingRequest,
    now: NaiveDateTime,
) -> QueryResult<Handled> {
    let Some(agent) = Agent::find(connection, AgentId(request.agent_id))? else {
        return rejected(Rejection::UnknownAgent { agent_id: request.agent_id }, None, false);
    };
    if !agent.active {
        return rejected(Rejection::InactiveAgent { agent_id: request.agent_id }, Some(agent), false);
    }
    if context.settings.sms.require_sender_match {
        let sender =
            PhoneNumber::parse_e164(&message.sender).map(String::from).unwrap_or_else(|_| message.sender.clone());
        if sender != agent.phone {
            return rejected(
                Rejection::SenderMismatch {
                    agent_id: request.agent_id,
                    sender: crate::sms::phone::mask_phone(&sender),
                },
                Some(agent),
                false,
            );
        }
    }

    let Some(case_type) = CaseType::find_by_code(connection, &request.case_code)? else {
        let codes = CaseType::all_codes(connection)?;
        let suggestion = rejection::nearest_code(&request.case_code, &codes).unwrap_or("-").to_owned();
        return rejected(
            Rejection::UnknownCaseType { code: request.case_code.clone(), suggestion },
            Some(agent),
            false,
        );
    };

    let facilities = Facility::of_agent(connection, agent.id)?;
    let codes = facilities.iter().map(|facility| facility.code.as_str()).collect::<Vec<_>>().join(", ");
    if facilities.is_empty() {
        let rejection = Rejection::AgentWithoutFacility {
            agent_id: request.agent_id,
            beneficiary: request.beneficiary_name.clone(),
        };
        return rejected(rejection, Some(agent), false);
    }
    let candidates: Vec<_> = match &request.facility_code {
        Some(code) => {
            if Facility::find_by_code(connection, code)?.is_none() {
                return rejected(Rejection::UnknownFacility { code: code.clone(), valid: codes }, Some(agent), false);
            }
            let Some(facility) = facilities.iter().find(|facility| &facility.code == code) else {
                let rejection =
                    Rejection::FacilityNotAssigned { agent_id: request.agent_id, code: code.clone(), valid: codes };
                return rejected(rejection, Some(agent), false);
            };
            vec![facility.id]
        }
        None => facilities.iter().map(|facility| facility.id).collect(),
    };

    // An agent who sends the same booking again after the duplicate window
    // (no delivery report, say) gets the existing appointment, not a second.
    if let Some(existing) = Task::upcoming_for(connection, request.beneficiary_phone.as_str(), case_type.id, now)? {
        return already_booked(connection, context, message, &agent, existing, now);
    }

    let not_before = now + Duration::minutes(i64::from(context.settings.booking.min_lead_minutes));
    let Some(slot) = take_earliest_slot(connection, &case_type, &candidates, not_before)? else {
        let rejection = Rejection::NoFreeSlot {
            case_code: case_type.code.clone(),
            beneficiary: request.beneficiary_name.clone(),
            not_before: format_local(context.zone, not_before),
            facilities: request.facility_code.clone().unwrap_or(codes),
        };
        return rejected(rejection, Some(agent), false);
    };

    let phone = request.beneficiary_phone.as_str();
    let beneficiary = Beneficiary::find_or_create(connection, phone, &request.beneficiary_name, now)?;
    let task = Task::create(
        connection,
        &NewTask {
            agent_id: agent.id,
            case_type_id: case_type.id,
            facility_id: slot.facility_id,
            slot_id: slot.id,
            beneficiary_id: beneficiary.id,
            beneficiary_name: &request.beneficiary_name,
            beneficiary_phone: phone,
            status: task_status::BOOKED,
            reschedule_count: 0,
            inbound_message_id: Some(message.id),
            created_at: now,
            updated_at: now,
            requested_facility_id: request.facility_code.as_ref().map(|_| slot.facility_id),
        },
        actor::AGENT_SMS,
        "booking SMS",
    )?;

    let facility = facilities
        .iter()
        .find(|facility| facility.id == slot.facility_id)
        .cloned()
        .map_or_else(|| Facility::find(connection, slot.facility_id), Ok)?;
    let agent_language = agent.language.parse().unwrap_or(context.settings.agents.default_language);
    let patient_language = beneficiary.language.as_deref().and_then(|code| code.parse().ok()).unwrap_or(agent_language);
    let appointment = Appointment::new(context.zone, &slot, &facility, &case_type, &request.beneficiary_name);

    let patient_text = appointment.render(&context.catalog, patient_language, "patient-appointment");
    enqueue_sms(connection, phone, patient_text, Some(task.id), Some(message.id), now)?;
    if context.settings.booking.confirm_to_agent {
        let agent_text = appointment.render(&context.catalog, agent_language, "agent-booked");
        enqueue_sms(connection, &agent.phone, agent_text, Some(task.id), Some(message.id), now)?;
    }

    tracing::info!(
        inbound_id = %message.id,
        task_id = %task.id,
        agent_id = %agent.id,
        slot_id = %slot.id,
        case_code = %case_type.code,
        "booked task {} in slot {}",
        task.id,
        slot.id
    );
    Ok(Handled::Booked(task.id))
}

/// Replies to a repeated booking with the appointment that exists already.
fn already_booked(
    connection: &mut DbConnection,
    context: &BookingContext,
    message: &InboundMessage,
    agent: &Agent,
    existing: Task,
    now: NaiveDateTime,
) -> QueryResult<Handled> {
    let task_id = existing.id;
    let view = crate::appointments::TaskView::load(connection, context, existing)?;
    let text = crate::appointments::render_for_agent(context, &view, "agent-already-booked", &[]);
    enqueue_sms(connection, &agent.phone, text, Some(task_id), Some(message.id), now)?;
    tracing::info!(inbound_id = %message.id, %task_id, "booking repeats task {task_id}; sent the existing appointment");
    Ok(Handled::AlreadyBooked(task_id))
}

/// Takes a place in the earliest free slot. Another transaction may fill a
/// candidate between the read and the conditional update (on backends
/// without a database-wide write lock), so candidates are retried in order.
pub fn take_earliest_slot(
    connection: &mut DbConnection,
    case_type: &CaseType,
    facilities: &[crate::db::ids::FacilityId],
    not_before: NaiveDateTime,
) -> QueryResult<Option<Slot>> {
    loop {
        let candidates = Slot::free_candidates(connection, case_type.id, facilities, not_before, SLOT_CANDIDATES)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        for slot in candidates {
            if Slot::take_place(connection, slot.id)? {
                return Ok(Some(slot));
            }
        }
    }
}

/// The facts of an appointment as they appear in SMS.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub name: String,
    pub facility: String,
    pub address: String,
    /// `dd-mm-yyyy` in the business time zone.
    pub date: String,
    /// `HH:MM` in the business time zone.
    pub time: String,
    pub case_code: String,
}

impl Appointment {
    pub fn new(zone: Tz, slot: &Slot, facility: &Facility, case_type: &CaseType, name: &str) -> Self {
        let local = zone.from_utc_datetime(&slot.starts_at);
        Self {
            name: name.to_owned(),
            facility: facility.name.clone(),
            address: facility.address.clone(),
            date: local.format("%d-%m-%Y").to_string(),
            time: local.format("%H:%M").to_string(),
            case_code: case_type.code.clone(),
        }
    }

    /// Renders a catalogue entry that takes the appointment's arguments.
    pub fn render(&self, catalog: &Catalog, language: Language, template_id: &'static str) -> crate::sms::RenderedText {
        let args = [
            ("name", self.name.as_str()),
            ("facility", self.facility.as_str()),
            ("address", self.address.as_str()),
            ("date", self.date.as_str()),
            ("time", self.time.as_str()),
            ("case", self.case_code.as_str()),
        ];
        render_or_fallback(catalog, language, template_id, &args)
    }
}

/// Renders a catalogue entry, falling back to English and then to the bare
/// template id, so a catalogue mistake never loses the SMS. Catalogue
/// completeness is checked by tests; the fallback is logged.
pub fn render_or_fallback(
    catalog: &Catalog,
    language: Language,
    template_id: &'static str,
    args: &[(&str, &str)],
) -> crate::sms::RenderedText {
    match catalog.render(language, template_id, args) {
        Ok(rendered) => rendered,
        Err(error) => {
            tracing::error!(%error, template_id, %language, "rendering SMS failed; using English");
            catalog.render(Language::En, template_id, args).unwrap_or_else(|_| crate::sms::RenderedText {
                template_id,
                language: Language::En,
                text: template_id.to_owned(),
            })
        }
    }
}

/// Queues an SMS in the outbox.
pub fn enqueue_sms(
    connection: &mut DbConnection,
    recipient: &str,
    rendered: crate::sms::RenderedText,
    task_id: Option<TaskId>,
    inbound_id: Option<InboundId>,
    now: NaiveDateTime,
) -> QueryResult<crate::db::ids::OutboundId> {
    OutboundMessage::enqueue(
        connection,
        &NewOutboundMessage {
            channel: "sms",
            recipient,
            text: &rendered.text,
            template_id: rendered.template_id,
            language: rendered.language.code(),
            status: outbound_status::QUEUED,
            attempts: 0,
            next_attempt_at: now,
            task_id,
            inbound_message_id: inbound_id,
            created_at: now,
            updated_at: now,
        },
    )
}

fn format_local(zone: Tz, instant: NaiveDateTime) -> String {
    zone.from_utc_datetime(&instant).format("%d-%m-%Y %H:%M").to_string()
}

/// Stores the flag and queues the reply that explains to the agent what to fix.
/// Senders that are neither an agent nor a phone number get no reply.
pub(crate) fn record_rejection(
    connection: &mut DbConnection,
    context: &BookingContext,
    message: &InboundMessage,
    agent: Option<&Agent>,
    rejection: &Rejection,
    is_follow_up: bool,
    now: NaiveDateTime,
) -> QueryResult<FlagId> {
    let detail = rejection.to_string();
    let flag_id = FlaggedMessage::insert(
        connection,
        &NewFlaggedMessage {
            inbound_message_id: Some(message.id),
            agent_id: agent.map(|agent| agent.id),
            task_id: None,
            reason: rejection.code(),
            detail: &detail,
            status: "open",
            created_at: now,
        },
    )?;

    let recipient = match agent {
        Some(agent) if !matches!(rejection, Rejection::SenderMismatch { .. }) => Some(agent.phone.clone()),
        _ => PhoneNumber::parse_e164(&message.sender).ok().map(String::from),
    };
    // A registered agent who mistyped the agent id still reads replies in
    // their own language, found through the sender's phone.
    let sender_agent = match agent {
        Some(_) => None,
        None => match PhoneNumber::parse_e164(&message.sender) {
            Ok(phone) => Agent::find_by_phone(connection, phone.as_str())?,
            Err(_) => None,
        },
    };
    let language = agent
        .or(sender_agent.as_ref())
        .and_then(|agent| agent.language.parse().ok())
        .unwrap_or(context.settings.agents.default_language);
    let reply = rejection.reply(is_follow_up);
    let args: Vec<(&str, &str)> = reply.args.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let rendered = render_or_fallback(&context.catalog, language, reply.template_id, &args);

    match recipient {
        Some(recipient) => {
            enqueue_sms(connection, &recipient, rendered, None, Some(message.id), now)?;
        }
        None => tracing::warn!(inbound_id = %message.id, "sender is not a phone number; flagged without a reply"),
    }
    tracing::info!(
        inbound_id = %message.id,
        flag_id = %flag_id,
        reason = rejection.code(),
        "flagged message {}: {}",
        message.id,
        rejection.code()
    );
    Ok(flag_id)
}
