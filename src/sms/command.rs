//! Typed commands parsed from agent SMS. The pest parse tree stays inside
//! this module: callers get a [`Command`] or a [`ParseError`] naming the field.

use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;

use super::phone::{ascii_digits, PhoneError, PhoneNumber};

#[derive(Parser)]
#[grammar = "../grammar/sms.pest"]
struct SmsGrammar;

/// The maximum length, in characters, of a text parsed as a command. Real bookings are far shorter than
/// one concatenated SMS; anything longer is rejected before parsing.
pub const MAX_COMMAND_CHARS: usize = 480;

/// A booking request: `12 ANC Seema Devi 9876543210 [WGL]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRequest {
    /// The number the agent typed as their id.
    pub agent_id: i32,
    /// Case type code, upper-cased.
    pub case_code: String,
    /// Beneficiary name with words joined by single spaces.
    pub beneficiary_name: String,
    pub beneficiary_phone: PhoneNumber,
    /// Facility code, upper-cased, when the agent asked for one facility.
    pub facility_code: Option<String>,
}

/// The outcome an agent reports in a follow-up reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpOutcome {
    /// `SC`: the beneficiary went; the task is complete.
    Completed,
    /// `RS`: the beneficiary did not go; book the next free slot.
    Reschedule,
}

/// A follow-up reply: `-1 SC 9876543210 Seema Devi 123456`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpReply {
    pub outcome: FollowUpOutcome,
    pub beneficiary_phone: PhoneNumber,
    pub beneficiary_name: String,
    /// The tracking id as typed, in ASCII digits; the check digit is
    /// verified by the follow-up code, not here.
    pub tracking_id: String,
}

/// A parsed agent SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Booking(BookingRequest),
    FollowUpReply(FollowUpReply),
}

/// The part of an SMS that a parse error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Message,
    AgentId,
    CaseCode,
    BeneficiaryName,
    BeneficiaryPhone,
    FacilityCode,
    Outcome,
    TrackingId,
}

impl Field {
    /// A stable name for logs, flags and message catalogue arguments.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Message => "message",
            Field::AgentId => "agent id",
            Field::CaseCode => "case code",
            Field::BeneficiaryName => "beneficiary name",
            Field::BeneficiaryPhone => "beneficiary phone",
            Field::FacilityCode => "facility code",
            Field::Outcome => "SC or RS",
            Field::TrackingId => "tracking id",
        }
    }
}

/// The reasons an SMS is not a valid command, with the field that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is {chars} characters long; a command is at most {MAX_COMMAND_CHARS}")]
    TooLong { chars: usize },
    #[error("the message contains the control character U+{code:04X} at position {position}")]
    ControlCharacter { code: u32, position: usize },
    #[error("{} is missing", .0.as_str())]
    Missing(Field),
    #[error("{} '{value}' is invalid", field.as_str())]
    Invalid { field: Field, value: String },
    #[error("beneficiary phone: {0}")]
    Phone(PhoneError),
    #[error("unexpected text '{0}' after the last field")]
    Trailing(String),
}

impl ParseError {
    /// The field the error is about.
    pub fn field(&self) -> Field {
        match self {
            ParseError::Empty
            | ParseError::TooLong { .. }
            | ParseError::ControlCharacter { .. }
            | ParseError::Trailing(_) => Field::Message,
            ParseError::Missing(field) | ParseError::Invalid { field, .. } => *field,
            ParseError::Phone(_) => Field::BeneficiaryPhone,
        }
    }
}

/// Parses an agent SMS into a command. Letter case, runs of separators,
/// Devanagari digits and the usual phone spellings are all accepted.
pub fn parse(text: &str) -> Result<Command, ParseError> {
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    let chars = trimmed.chars().count();
    if chars > MAX_COMMAND_CHARS {
        return Err(ParseError::TooLong { chars });
    }
    if let Some((position, c)) =
        trimmed.chars().enumerate().find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ParseError::ControlCharacter { code: u32::from(c), position: position + 1 });
    }

    if trimmed.starts_with('-') {
        parse_follow_up(trimmed).map(Command::FollowUpReply)
    } else {
        parse_booking(trimmed).map(Command::Booking)
    }
}

fn parse_booking(text: &str) -> Result<BookingRequest, ParseError> {
    let mut pairs = SmsGrammar::parse(Rule::booking, text).map_err(|error| diagnose_booking(text, &error))?;
    let Some(booking) = pairs.next() else {
        return Err(ParseError::Missing(Field::AgentId));
    };

    let mut agent_id = None;
    let mut case_code = None;
    let mut name = None;
    let mut phone = None;
    let mut facility_code = None;
    for pair in booking.into_inner() {
        match pair.as_rule() {
            Rule::agent_id => agent_id = Some(parse_agent_id(pair.as_str())?),
            Rule::case_code => case_code = Some(pair.as_str().to_ascii_uppercase()),
            Rule::beneficiary_name => name = Some(join_name(&pair)),
            Rule::phone => phone = Some(PhoneNumber::parse_indian_mobile(pair.as_str()).map_err(ParseError::Phone)?),
            Rule::facility_code => facility_code = Some(pair.as_str().to_ascii_uppercase()),
            _ => {}
        }
    }
    Ok(BookingRequest {
        agent_id: agent_id.ok_or(ParseError::Missing(Field::AgentId))?,
        case_code: case_code.ok_or(ParseError::Missing(Field::CaseCode))?,
        beneficiary_name: name.ok_or(ParseError::Missing(Field::BeneficiaryName))?,
        beneficiary_phone: phone.ok_or(ParseError::Missing(Field::BeneficiaryPhone))?,
        facility_code,
    })
}

fn parse_follow_up(text: &str) -> Result<FollowUpReply, ParseError> {
    let mut pairs = SmsGrammar::parse(Rule::follow_up_reply, text).map_err(|error| diagnose_follow_up(text, &error))?;
    let Some(reply) = pairs.next() else {
        return Err(ParseError::Missing(Field::Outcome));
    };

    let mut outcome = None;
    let mut phone = None;
    let mut name = None;
    let mut tracking_id = None;
    for pair in reply.into_inner() {
        match pair.as_rule() {
            Rule::outcome => {
                outcome = pair.into_inner().next().map(|inner| match inner.as_rule() {
                    Rule::rescheduled => FollowUpOutcome::Reschedule,
                    _ => FollowUpOutcome::Completed,
                });
            }
            Rule::phone => phone = Some(PhoneNumber::parse_indian_mobile(pair.as_str()).map_err(ParseError::Phone)?),
            Rule::beneficiary_name => name = Some(join_name(&pair)),
            Rule::tracking_id => tracking_id = Some(ascii_digits(pair.as_str())),
            _ => {}
        }
    }
    Ok(FollowUpReply {
        outcome: outcome.ok_or(ParseError::Missing(Field::Outcome))?,
        beneficiary_phone: phone.ok_or(ParseError::Missing(Field::BeneficiaryPhone))?,
        beneficiary_name: name.ok_or(ParseError::Missing(Field::BeneficiaryName))?,
        tracking_id: tracking_id.ok_or(ParseError::Missing(Field::TrackingId))?,
    })
}

fn parse_agent_id(text: &str) -> Result<i32, ParseError> {
    let digits = ascii_digits(text);
    match digits.parse::<i32>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ParseError::Invalid { field: Field::AgentId, value: text.to_owned() }),
    }
}

fn join_name(pair: &Pair<'_, Rule>) -> String {
    pair.clone().into_inner().map(|word| word.as_str()).collect::<Vec<_>>().join(" ")
}

/// Splits a text into fields the way the grammar separates them, for error
/// diagnosis. Phone digit groups stay separate here; the diagnosis only
/// needs to know which field the parser stopped in.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '*' | '#'))
        .filter(|word| !word.is_empty())
        .collect()
}

fn is_digits(word: &str) -> bool {
    let ascii = ascii_digits(word);
    !ascii.is_empty() && ascii.chars().all(|c| c.is_ascii_digit())
}

fn looks_like_phone(word: &str) -> bool {
    let ascii = ascii_digits(word);
    let body = ascii.strip_prefix('+').unwrap_or(&ascii);
    !body.is_empty()
        && body.chars().next().is_some_and(|c| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || c == '-')
}

fn is_name_word(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_alphabetic)
        && word.chars().all(|c| c.is_alphabetic() || matches!(c, '\'' | '.' | '-') || is_combining_mark(c))
}

fn is_combining_mark(c: char) -> bool {
    // Devanagari vowel signs, virama and nukta, the marks agents type in names.
    matches!(c, '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0951}'..='\u{0957}' | '\u{0962}'..='\u{0963}')
}

fn is_code(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && word.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Finds the first wrong field of a booking that the grammar rejected.
/// The checks mirror the grammar rule by rule, so the error names the field
/// where parsing stopped, with the value the agent typed.
fn diagnose_booking(text: &str, error: &pest::error::Error<Rule>) -> ParseError {
    tracing::trace!(%error, "booking grammar rejected the message");
    let words = words(text);
    let mut rest = words.as_slice();

    let Some((agent, tail)) = rest.split_first() else {
        return ParseError::Empty;
    };
    if !is_digits(agent) {
        return ParseError::Invalid { field: Field::AgentId, value: (*agent).to_owned() };
    }
    rest = tail;

    let Some((case, tail)) = rest.split_first() else {
        return ParseError::Missing(Field::CaseCode);
    };
    if !is_code(case) {
        return ParseError::Invalid { field: Field::CaseCode, value: (*case).to_owned() };
    }
    rest = tail;

    let name_len = rest.iter().take_while(|word| is_name_word(word)).count();
    if name_len == 0 {
        return match rest.first() {
            None => ParseError::Missing(Field::BeneficiaryName),
            Some(word) if looks_like_phone(word) => ParseError::Missing(Field::BeneficiaryName),
            Some(word) => ParseError::Invalid { field: Field::BeneficiaryName, value: (*word).to_owned() },
        };
    }
    rest = &rest[name_len..];

    let phone_len = rest.iter().take_while(|word| looks_like_phone(word)).count();
    if phone_len == 0 {
        return match rest.first() {
            None => ParseError::Missing(Field::BeneficiaryPhone),
            Some(word) => ParseError::Invalid { field: Field::BeneficiaryName, value: (*word).to_owned() },
        };
    }
    let phone_text = rest[..phone_len].join(" ");
    if let Err(phone_error) = PhoneNumber::parse_indian_mobile(&phone_text) {
        return ParseError::Phone(phone_error);
    }
    rest = &rest[phone_len..];

    match rest {
        [] => ParseError::Invalid { field: Field::Message, value: text.to_owned() },
        [facility] if !is_code(facility) => {
            ParseError::Invalid { field: Field::FacilityCode, value: (*facility).to_owned() }
        }
        [_, extra @ ..] => ParseError::Trailing(extra.join(" ")),
    }
}

/// Finds the first wrong field of a follow-up reply that the grammar
/// rejected, in the same way as [`diagnose_booking`].
fn diagnose_follow_up(text: &str, error: &pest::error::Error<Rule>) -> ParseError {
    tracing::trace!(%error, "follow-up grammar rejected the message");
    let words = words(text);
    let mut rest = words.as_slice();

    // The marker may be typed "-1" or "- 1".
    match rest {
        [marker, tail @ ..] if matches!(ascii_digits(marker).as_str(), "-1") => rest = tail,
        ["-", one, tail @ ..] if ascii_digits(one) == "1" => rest = tail,
        [marker, ..] => return ParseError::Invalid { field: Field::AgentId, value: (*marker).to_owned() },
        [] => return ParseError::Empty,
    }

    let Some((outcome, tail)) = rest.split_first() else {
        return ParseError::Missing(Field::Outcome);
    };
    if !outcome.eq_ignore_ascii_case("SC") && !outcome.eq_ignore_ascii_case("RS") {
        return ParseError::Invalid { field: Field::Outcome, value: (*outcome).to_owned() };
    }
    rest = tail;

    let phone_len = rest.iter().take_while(|word| looks_like_phone(word)).count();
    if phone_len == 0 {
        return match rest.first() {
            None => ParseError::Missing(Field::BeneficiaryPhone),
            Some(word) => ParseError::Invalid { field: Field::BeneficiaryPhone, value: (*word).to_owned() },
        };
    }
    let phone_text = rest[..phone_len].join(" ");
    if let Err(phone_error) = PhoneNumber::parse_indian_mobile(&phone_text) {
        // "-1 SC 9876543210 123456" reads as one long phone; a valid phone
        // followed by more digits means the name between them is missing.
        let valid_prefix = (1..phone_len).any(|len| PhoneNumber::parse_indian_mobile(&rest[..len].join(" ")).is_ok());
        if valid_prefix {
            return ParseError::Missing(Field::BeneficiaryName);
        }
        return ParseError::Phone(phone_error);
    }
    rest = &rest[phone_len..];

    let name_len = rest.iter().take_while(|word| is_name_word(word)).count();
    if name_len == 0 {
        return match rest.first() {
            None => ParseError::Missing(Field::BeneficiaryName),
            Some(word) if is_digits(word) => ParseError::Missing(Field::BeneficiaryName),
            Some(word) => ParseError::Invalid { field: Field::BeneficiaryName, value: (*word).to_owned() },
        };
    }
    rest = &rest[name_len..];

    match rest {
        [] => ParseError::Missing(Field::TrackingId),
        [id] if !is_digits(id) => ParseError::Invalid { field: Field::TrackingId, value: (*id).to_owned() },
        [id] => ParseError::Invalid { field: Field::TrackingId, value: (*id).to_owned() },
        [_, extra @ ..] => ParseError::Trailing(extra.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(text: &str) -> BookingRequest {
        match parse(text) {
            Ok(Command::Booking(request)) => request,
            other => panic!("{text:?} did not parse as a booking: {other:?}"),
        }
    }

    #[test]
    fn specification_examples_book() {
        let cases = [
            ("12 ANC Seema 9876543210", "ANC", "Seema", None),
            ("12 anc  Seema Devi Patil   9876543210", "ANC", "Seema Devi Patil", None),
            ("12,ANC,Seema Devi,9876543210", "ANC", "Seema Devi", None),
            ("१२ ANC सीमा देवी ९८७६५४३२१०", "ANC", "सीमा देवी", None),
            ("12 ANC Seema +91 98765 43210", "ANC", "Seema", None),
            ("12 ANC Seema 09876543210", "ANC", "Seema", None),
            ("12 ANC Seema 919876543210", "ANC", "Seema", None),
            ("12 ANC Seema 98765-43210", "ANC", "Seema", None),
            ("12 ANC Seema 9876543210 WGL", "ANC", "Seema", Some("WGL")),
            ("12 ANC Seema 9876543210 wgl", "ANC", "Seema", Some("WGL")),
            ("12*ANC*Seema*9876543210#", "ANC", "Seema", None),
        ];
        for (text, case_code, name, facility) in cases {
            let request = booking(text);
            assert_eq!(request.agent_id, 12, "agent id of {text:?}");
            assert_eq!(request.case_code, case_code, "case code of {text:?}");
            assert_eq!(request.beneficiary_name, name, "name of {text:?}");
            assert_eq!(request.beneficiary_phone.as_str(), "+919876543210", "phone of {text:?}");
            assert_eq!(request.facility_code.as_deref(), facility, "facility of {text:?}");
        }
    }

    #[test]
    fn wrong_fields_are_named() {
        let cases = [
            ("", Field::Message),
            ("   ", Field::Message),
            ("ab ANC Seema 9876543210", Field::AgentId),
            ("0 ANC Seema 9876543210", Field::AgentId),
            ("12", Field::CaseCode),
            ("12 9876543210", Field::CaseCode),
            ("12 A-NC Seema 9876543210", Field::CaseCode),
            ("12 ANC 9876543210", Field::BeneficiaryName),
            ("12 ANC", Field::BeneficiaryName),
            ("12 ANC Seema", Field::BeneficiaryPhone),
            ("12 ANC Seema 98765", Field::BeneficiaryPhone),
            ("12 ANC Seema 5876543210", Field::BeneficiaryPhone),
            ("12 ANC Se3ma 9876543210", Field::BeneficiaryName),
            ("12 ANC Seema 9876543210 W-GL", Field::FacilityCode),
            ("12 ANC Seema 9876543210 WGL extra", Field::Message),
            ("-1 XX 9876543210 Seema 123456", Field::Outcome),
            ("-1 SC Seema 123456", Field::BeneficiaryPhone),
            ("-1 SC 9876543210 123456", Field::BeneficiaryName),
            ("-1 SC 9876543210 Seema", Field::TrackingId),
            ("-1 SC 9876543210 Seema 12a456", Field::TrackingId),
        ];
        for (text, field) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(error.field(), field, "field of {text:?} ({error})");
        }
    }

    #[test]
    fn follow_up_replies_parse() {
        let cases = [
            ("-1 SC 9876543210 Seema Devi 123456", FollowUpOutcome::Completed),
            ("-1 rs +91 98765 43210 Seema 123456", FollowUpOutcome::Reschedule),
            ("-१ SC ९८७६५४३२१० सीमा १२३४५६", FollowUpOutcome::Completed),
            ("- 1,sc,9876543210,Seema,123456", FollowUpOutcome::Completed),
        ];
        for (text, outcome) in cases {
            let Ok(Command::FollowUpReply(reply)) = parse(text) else {
                panic!("{text:?} did not parse as a follow-up reply");
            };
            assert_eq!(reply.outcome, outcome, "outcome of {text:?}");
            assert_eq!(reply.beneficiary_phone.as_str(), "+919876543210", "phone of {text:?}");
            assert_eq!(reply.tracking_id, "123456", "tracking id of {text:?}");
        }
    }

    #[test]
    fn control_characters_and_length_rejected() {
        assert!(matches!(parse("12 ANC\u{0007} Seema 9876543210"), Err(ParseError::ControlCharacter { code: 7, .. })));
        let long = "a".repeat(2000);
        assert_eq!(parse(&long), Err(ParseError::TooLong { chars: 2000 }));
    }
}
