//! Compares what a scenario expects with what the engine did. Both sides
//! are rendered as TOML inline tables, one per line, in the syntax of the
//! scenario file, so a difference reads as a line diff and a correct actual
//! line can be pasted into the scenario.
//!
//! An expected item may leave fields out. The actual item is then rendered
//! with only the fields its expected counterpart names, so that lines that
//! match look the same and a diff shows only real differences.

use std::collections::{HashMap, HashSet};

use super::format::{ExpectedFlag, ExpectedInbound, ExpectedSms, ExpectedTask, LocalDateTime, Recipient};
use super::pattern::{check_transforms_known, fill, match_text, placeholder_names, Captures};
use crate::sms::PhoneNumber;

/// An SMS the provider accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualSms {
    /// E.164.
    pub to: String,
    pub text: String,
}

/// A flagged message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualFlag {
    pub reason: String,
    pub detail: String,
    pub agent: Option<i32>,
}

/// An appointment task as stored, with its slot's local start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualTask {
    pub beneficiary: String,
    pub phone: String,
    pub agent: i32,
    pub case: String,
    pub facility: String,
    pub appointment: LocalDateTime,
    pub status: String,
}

/// A stored inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualInbound {
    pub from: String,
    pub text: String,
    pub status: String,
    pub outcome: Option<String>,
}

/// Expected and actual lists rendered line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub matched: bool,
    pub expected: String,
    pub actual: String,
}

/// The agents' phones, to resolve `to_agent` and to label agent recipients.
#[derive(Debug, Clone, Default)]
pub struct AgentPhones {
    by_id: HashMap<i32, String>,
    by_phone: HashMap<String, i32>,
}

impl AgentPhones {
    pub fn new(agents: impl IntoIterator<Item = (i32, String)>) -> Self {
        let mut phones = Self::default();
        for (id, phone) in agents {
            phones.by_phone.insert(phone.clone(), id);
            phones.by_id.insert(id, phone);
        }
        phones
    }

    pub fn phone_of(&self, agent: i32) -> Option<&str> {
        self.by_id.get(&agent).map(String::as_str)
    }

    pub fn agent_with(&self, phone: &str) -> Option<i32> {
        self.by_phone.get(phone).copied()
    }
}

/// Normalises a phone written in a scenario the way the webhook normalises
/// senders; text that is not a phone number stays as written.
pub fn normalise_phone(text: &str) -> String {
    PhoneNumber::parse_e164(text.trim()).map_or_else(|_| text.trim().to_owned(), String::from)
}

/// Compares two lists item by item. Each actual line takes the shape of
/// the expected item it matches, else of the expected item at its index.
fn compare<E, A>(
    expected: &[E],
    actual: &[A],
    matches: impl Fn(&E, &A) -> bool,
    render_expected: impl Fn(&E) -> String,
    render_actual: impl Fn(&A, Option<&E>) -> String,
) -> Comparison {
    let matched =
        expected.len() == actual.len() && expected.iter().zip(actual).all(|(wanted, got)| matches(wanted, got));
    let expected_lines: Vec<String> = expected.iter().map(&render_expected).collect();
    let actual_lines: Vec<String> = actual
        .iter()
        .enumerate()
        .map(|(index, got)| {
            let same_index = expected.get(index).filter(|wanted| matches(wanted, got));
            let shape =
                same_index.or_else(|| expected.iter().find(|wanted| matches(wanted, got))).or(expected.get(index));
            render_actual(got, shape)
        })
        .collect();
    Comparison { matched, expected: join_lines(&expected_lines), actual: join_lines(&actual_lines) }
}

fn join_lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Builds `{ key = value, ... }` with TOML quoting.
#[derive(Default)]
struct InlineTable {
    fields: Vec<String>,
}

impl InlineTable {
    fn text(mut self, key: &str, value: &str) -> Self {
        self.fields.push(format!("{key} = {}", toml::Value::String(value.to_owned())));
        self
    }

    fn number(mut self, key: &str, value: i32) -> Self {
        self.fields.push(format!("{key} = {value}"));
        self
    }

    fn render(self) -> String {
        format!("{{ {} }}", self.fields.join(", "))
    }
}

/// The SMS comparison and the placeholder values it captured.
#[derive(Debug, Clone)]
pub struct SmsComparison {
    pub comparison: Comparison,
    /// `captures` extended with this step's values when everything matched,
    /// else unchanged.
    pub captures: Captures,
}

/// Compares SMS in the order the provider accepted them. Expected texts may
/// contain placeholders (see [`super::pattern`]).
pub fn compare_sms(
    expected: &[ExpectedSms],
    actual: &[ActualSms],
    agents: &AgentPhones,
    captures: &Captures,
) -> SmsComparison {
    let resolve = |recipient: &Recipient| match recipient {
        Recipient::Phone(phone) => Some(normalise_phone(phone)),
        Recipient::Agent(id) => agents.phone_of(*id).map(str::to_owned),
    };
    let matches = |wanted: &ExpectedSms, got: &ActualSms, known: &Captures| {
        if resolve(&wanted.to).as_deref() == Some(got.to.as_str()) {
            match_text(&wanted.text, &got.text, known)
        } else {
            None
        }
    };

    // Placeholders bind in order, so each pair is matched with the values
    // captured by the pairs before it.
    let mut working = captures.clone();
    let mut pair_matched = vec![false; actual.len()];
    for (index, (wanted, got)) in expected.iter().zip(actual).enumerate() {
        if let Some(extended) = matches(wanted, got, &working) {
            working = extended;
            pair_matched[index] = true;
        }
    }
    let matched = expected.len() == actual.len() && pair_matched.iter().all(|pair| *pair);

    let render_expected = |wanted: &ExpectedSms| {
        let table = match &wanted.to {
            Recipient::Phone(phone) => InlineTable::default().text("to", phone),
            Recipient::Agent(id) => InlineTable::default().number("to_agent", *id),
        };
        table.text("text", &wanted.text).render()
    };
    let expected_lines: Vec<String> = expected.iter().map(render_expected).collect();
    let actual_lines: Vec<String> = actual
        .iter()
        .enumerate()
        .map(|(index, got)| {
            // A matching SMS is shown as its expected line, placeholders
            // included, so that only real differences stand out.
            let matching = if pair_matched[index] {
                expected.get(index)
            } else {
                expected.iter().find(|wanted| matches(wanted, got, &working).is_some())
            };
            if let Some(wanted) = matching {
                return render_expected(wanted);
            }
            let by_agent = !matches!(expected.get(index).map(|wanted| &wanted.to), Some(Recipient::Phone(_)));
            let table = match agents.agent_with(&got.to).filter(|_| by_agent) {
                Some(id) => InlineTable::default().number("to_agent", id),
                None => InlineTable::default().text("to", &got.to),
            };
            table.text("text", &got.text).render()
        })
        .collect();

    SmsComparison {
        comparison: Comparison { matched, expected: join_lines(&expected_lines), actual: join_lines(&actual_lines) },
        captures: if matched { working } else { captures.clone() },
    }
}

/// Checks that every `{name|typo}` or `{name|swap}` in the expected texts
/// refers to a value captured before it: by an earlier step, or by an
/// earlier SMS of the same list.
pub fn check_sms_transforms(expected: &[ExpectedSms], captures: &Captures) -> Result<(), String> {
    let mut known: HashSet<String> = captures.keys().cloned().collect();
    for (index, wanted) in expected.iter().enumerate() {
        check_transforms_known(&wanted.text, &known).map_err(|message| format!("item {}: {message}", index + 1))?;
        known.extend(placeholder_names(&wanted.text));
    }
    Ok(())
}

/// Replaces the placeholders in expected flag details with captured values.
pub fn fill_flags(expected: &[ExpectedFlag], captures: &Captures) -> Result<Vec<ExpectedFlag>, String> {
    expected
        .iter()
        .enumerate()
        .map(|(index, wanted)| {
            let detail = match &wanted.detail {
                Some(detail) => {
                    Some(fill(detail, captures).map_err(|message| format!("item {}: {message}", index + 1))?)
                }
                None => None,
            };
            Ok(ExpectedFlag { detail, ..wanted.clone() })
        })
        .collect()
}

/// Replaces the placeholders in expected inbound texts with captured values.
pub fn fill_inbound(expected: &[ExpectedInbound], captures: &Captures) -> Result<Vec<ExpectedInbound>, String> {
    expected
        .iter()
        .enumerate()
        .map(|(index, wanted)| {
            let text = match &wanted.text {
                Some(text) => Some(fill(text, captures).map_err(|message| format!("item {}: {message}", index + 1))?),
                None => None,
            };
            Ok(ExpectedInbound { text, ..wanted.clone() })
        })
        .collect()
}

/// Compares every flag, oldest first.
pub fn compare_flags(expected: &[ExpectedFlag], actual: &[ActualFlag]) -> Comparison {
    let detail_matches =
        |wanted: &ExpectedFlag, got: &ActualFlag| wanted.detail.as_ref().is_none_or(|part| got.detail.contains(part));
    compare(
        expected,
        actual,
        |wanted, got| {
            wanted.reason == got.reason
                && detail_matches(wanted, got)
                && wanted.agent.is_none_or(|agent| got.agent == Some(agent))
        },
        |wanted| {
            let mut table = InlineTable::default().text("reason", &wanted.reason);
            if let Some(part) = &wanted.detail {
                table = table.text("detail", part);
            }
            if let Some(agent) = wanted.agent {
                table = table.number("agent", agent);
            }
            table.render()
        },
        |got, shape| {
            let mut table = InlineTable::default().text("reason", &got.reason);
            match shape {
                Some(wanted) => {
                    // A matching detail is shown as the expected part, so
                    // the lines are equal; otherwise the full detail shows.
                    if let Some(part) = &wanted.detail {
                        let shown = if got.detail.contains(part) { part } else { &got.detail };
                        table = table.text("detail", shown);
                    }
                    if wanted.agent.is_some() {
                        table = with_optional_agent(table, got.agent);
                    }
                }
                None => table = with_optional_agent(table.text("detail", &got.detail), got.agent),
            }
            table.render()
        },
    )
}

fn with_optional_agent(table: InlineTable, agent: Option<i32>) -> InlineTable {
    match agent {
        Some(agent) => table.number("agent", agent),
        None => table,
    }
}

/// Compares every task, oldest first.
pub fn compare_tasks(expected: &[ExpectedTask], actual: &[ActualTask]) -> Comparison {
    compare(
        expected,
        actual,
        |wanted, got| {
            wanted.beneficiary.as_ref().is_none_or(|name| *name == got.beneficiary)
                && wanted.phone.as_ref().is_none_or(|phone| normalise_phone(phone) == got.phone)
                && wanted.agent.is_none_or(|agent| agent == got.agent)
                && wanted.case.as_ref().is_none_or(|case| case.eq_ignore_ascii_case(&got.case))
                && wanted.facility.as_ref().is_none_or(|facility| facility.eq_ignore_ascii_case(&got.facility))
                && wanted.appointment.is_none_or(|appointment| appointment == got.appointment)
                && wanted.status.as_ref().is_none_or(|status| *status == got.status)
        },
        |wanted| {
            let mut table = InlineTable::default();
            if let Some(name) = &wanted.beneficiary {
                table = table.text("beneficiary", name);
            }
            if let Some(phone) = &wanted.phone {
                table = table.text("phone", phone);
            }
            if let Some(agent) = wanted.agent {
                table = table.number("agent", agent);
            }
            if let Some(case) = &wanted.case {
                table = table.text("case", case);
            }
            if let Some(facility) = &wanted.facility {
                table = table.text("facility", facility);
            }
            if let Some(appointment) = wanted.appointment {
                table = table.text("appointment", &appointment.to_string());
            }
            if let Some(status) = &wanted.status {
                table = table.text("status", status);
            }
            table.render()
        },
        |got, shape| {
            let show = |field: fn(&ExpectedTask) -> bool| shape.is_none_or(field);
            let mut table = InlineTable::default();
            if show(|wanted| wanted.beneficiary.is_some()) {
                table = table.text("beneficiary", &got.beneficiary);
            }
            if show(|wanted| wanted.phone.is_some()) {
                // Shown as the scenario wrote it when it is the same number.
                let written = shape.and_then(|wanted| wanted.phone.as_deref());
                let phone = written.filter(|phone| normalise_phone(phone) == got.phone).unwrap_or(&got.phone);
                table = table.text("phone", phone);
            }
            if show(|wanted| wanted.agent.is_some()) {
                table = table.number("agent", got.agent);
            }
            if show(|wanted| wanted.case.is_some()) {
                table = table.text("case", &got.case);
            }
            if show(|wanted| wanted.facility.is_some()) {
                table = table.text("facility", &got.facility);
            }
            if show(|wanted| wanted.appointment.is_some()) {
                table = table.text("appointment", &got.appointment.to_string());
            }
            if show(|wanted| wanted.status.is_some()) {
                table = table.text("status", &got.status);
            }
            table.render()
        },
    )
}

/// Compares every stored inbound message, in arrival order.
pub fn compare_inbound(expected: &[ExpectedInbound], actual: &[ActualInbound]) -> Comparison {
    compare(
        expected,
        actual,
        |wanted, got| {
            wanted.from.as_ref().is_none_or(|from| normalise_phone(from) == got.from)
                && wanted.text.as_ref().is_none_or(|text| *text == got.text)
                && wanted.status.as_ref().is_none_or(|status| *status == got.status)
                && wanted.outcome.as_ref().is_none_or(|outcome| Some(outcome) == got.outcome.as_ref())
        },
        |wanted| {
            let mut table = InlineTable::default();
            if let Some(from) = &wanted.from {
                table = table.text("from", from);
            }
            if let Some(text) = &wanted.text {
                table = table.text("text", text);
            }
            if let Some(status) = &wanted.status {
                table = table.text("status", status);
            }
            if let Some(outcome) = &wanted.outcome {
                table = table.text("outcome", outcome);
            }
            table.render()
        },
        |got, shape| {
            let show = |field: fn(&ExpectedInbound) -> bool| shape.is_none_or(field);
            let mut table = InlineTable::default();
            if show(|wanted| wanted.from.is_some()) {
                let written = shape.and_then(|wanted| wanted.from.as_deref());
                let from = written.filter(|from| normalise_phone(from) == got.from).unwrap_or(&got.from);
                table = table.text("from", from);
            }
            if show(|wanted| wanted.text.is_some()) {
                table = table.text("text", &got.text);
            }
            if show(|wanted| wanted.status.is_some()) {
                table = table.text("status", &got.status);
            }
            if show(|wanted| wanted.outcome.is_some()) {
                if let Some(outcome) = &got.outcome {
                    table = table.text("outcome", outcome);
                }
            }
            table.render()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents() -> AgentPhones {
        AgentPhones::new([(12, "+919812345678".to_owned())])
    }

    #[test]
    fn sms_match_by_agent_or_phone() {
        let expected = vec![
            ExpectedSms { to: Recipient::Phone("9876543210".into()), text: "a".into() },
            ExpectedSms { to: Recipient::Agent(12), text: "b".into() },
        ];
        let actual = vec![
            ActualSms { to: "+919876543210".into(), text: "a".into() },
            ActualSms { to: "+919812345678".into(), text: "b".into() },
        ];
        let comparison = compare_sms(&expected, &actual, &agents(), &Captures::new()).comparison;
        assert!(comparison.matched, "{comparison:?}");
        assert_eq!(comparison.expected, comparison.actual);
    }

    #[test]
    fn sms_text_difference_is_one_line() {
        let expected = vec![ExpectedSms { to: Recipient::Agent(12), text: "Booked".into() }];
        let actual = vec![ActualSms { to: "+919812345678".into(), text: "Booked!".into() }];
        let comparison = compare_sms(&expected, &actual, &agents(), &Captures::new()).comparison;
        assert!(!comparison.matched);
        assert_eq!(comparison.expected, "{ to_agent = 12, text = \"Booked\" }\n");
        assert_eq!(comparison.actual, "{ to_agent = 12, text = \"Booked!\" }\n");
    }

    #[test]
    fn sms_placeholders_capture_only_on_full_match() {
        let expected = vec![
            ExpectedSms { to: Recipient::Agent(12), text: "Follow-up {id}: go?".into() },
            ExpectedSms { to: Recipient::Agent(12), text: "Again {id}".into() },
        ];
        let actual = vec![
            ActualSms { to: "+919812345678".into(), text: "Follow-up 4821: go?".into() },
            ActualSms { to: "+919812345678".into(), text: "Again 4821".into() },
        ];
        let result = compare_sms(&expected, &actual, &agents(), &Captures::new());
        assert!(result.comparison.matched, "{result:?}");
        assert_eq!(result.captures.get("id").map(String::as_str), Some("4821"));

        let result = compare_sms(&expected, &actual[..1], &agents(), &Captures::new());
        assert!(!result.comparison.matched);
        assert!(result.captures.is_empty(), "{result:?}");
    }

    #[test]
    fn flag_detail_is_a_substring() {
        let expected = vec![ExpectedFlag { reason: "no_free_slot".into(), detail: Some("ANC".into()), agent: None }];
        let actual = vec![ActualFlag {
            reason: "no_free_slot".into(),
            detail: "no free ANC slot after".into(),
            agent: Some(12),
        }];
        let comparison = compare_flags(&expected, &actual);
        assert!(comparison.matched, "{comparison:?}");
        assert_eq!(comparison.expected, comparison.actual);
    }

    #[test]
    fn extra_actual_items_show_every_field() {
        let actual = vec![ActualFlag { reason: "unknown_agent".into(), detail: "agent id 99".into(), agent: None }];
        let comparison = compare_flags(&[], &actual);
        assert!(!comparison.matched);
        assert_eq!(comparison.actual, "{ reason = \"unknown_agent\", detail = \"agent id 99\" }\n");
    }

    #[test]
    fn flag_detail_placeholders_are_filled() {
        let captures = Captures::from([("id".to_owned(), "482135".to_owned())]);
        let expected = vec![ExpectedFlag {
            reason: "invalid_tracking_id".into(),
            detail: Some("tracking id {id|typo} fails".into()),
            agent: None,
        }];
        let filled = fill_flags(&expected, &captures).expect("filled");
        assert_eq!(filled[0].detail.as_deref(), Some("tracking id 483135 fails"));

        let error = fill_flags(&expected, &Captures::new()).expect_err("nothing captured");
        assert!(error.starts_with("item 1: {id} has no value yet"), "{error}");
    }

    #[test]
    fn inbound_text_placeholders_are_filled() {
        let captures = Captures::from([("id".to_owned(), "482135".to_owned())]);
        let expected = vec![ExpectedInbound {
            from: None,
            text: Some("-1 SC 9876543210 Seema {id|swap}".into()),
            status: None,
            outcome: None,
        }];
        let filled = fill_inbound(&expected, &captures).expect("filled");
        assert_eq!(filled[0].text.as_deref(), Some("-1 SC 9876543210 Seema 842135"));
    }

    #[test]
    fn sms_transforms_need_an_earlier_capture() {
        let expected = vec![
            ExpectedSms { to: Recipient::Agent(12), text: "Follow-up {id}".into() },
            ExpectedSms { to: Recipient::Agent(12), text: "Tracking id {id|typo} has".into() },
        ];
        assert_eq!(check_sms_transforms(&expected, &Captures::new()), Ok(()));
        let error = check_sms_transforms(&expected[1..], &Captures::new()).expect_err("id not captured");
        assert!(error.starts_with("item 1: {id|typo} has no value yet"), "{error}");
    }
}
