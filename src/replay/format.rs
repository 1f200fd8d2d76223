//! The scenario file format: TOML types, the checks serde cannot express,
//! and the local times and durations scenario authors write.
//! `scenarios/README.md` documents every key.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::pattern;

/// A parsed scenario, ready to run.
#[derive(Debug)]
pub struct Scenario {
    pub description: String,
    /// Local time in the configured zone when the scenario starts.
    pub start: LocalDateTime,
    pub fixture: Fixture,
    /// Configuration overrides, as a TOML table such as `{ sms = { ... } }`.
    pub config: Option<Located<toml::Table>>,
    pub steps: Vec<Step>,
}

/// A scenario file that cannot be used, with the line it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The problem and its fix, possibly over several lines.
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Returns the 1-based line of a byte offset in `source`.
pub fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end].iter().filter(|byte| **byte == b'\n').count() + 1
}

/// Parses and checks a scenario file.
pub fn parse(source: &str) -> Result<Scenario, FormatError> {
    let raw: RawScenario = toml::from_str(source).map_err(|error| {
        // toml's own text names the line and column and quotes the source.
        FormatError { line: None, message: error.to_string().trim_end().to_owned() }
    })?;

    let mut steps = Vec::with_capacity(raw.steps.len());
    for (index, spanned) in raw.steps.into_iter().enumerate() {
        let line = line_of(source, spanned.span().start);
        let step = Step::from_raw(index + 1, line, spanned.into_inner())
            .map_err(|message| FormatError { line: Some(line), message: format!("step {}: {message}", index + 1) })?;
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(FormatError {
            line: None,
            message: "the scenario has no steps: add [[step]] tables with inbound, at, advance or expect_* keys"
                .to_owned(),
        });
    }

    let fixture = Fixture {
        base: raw.fixture.base,
        agents: located(source, raw.fixture.agents),
        slots: located(source, raw.fixture.slots),
        slot_series: located(source, raw.fixture.slot_series),
    };
    let config =
        raw.config.map(|spanned| Located { line: line_of(source, spanned.span().start), value: spanned.into_inner() });
    Ok(Scenario { description: raw.description, start: raw.start, fixture, config, steps })
}

fn located<T>(source: &str, items: Vec<Spanned<T>>) -> Vec<Located<T>> {
    items
        .into_iter()
        .map(|spanned| {
            let line = line_of(source, spanned.span().start);
            Located { line, value: spanned.into_inner() }
        })
        .collect()
}

/// A value with the line it was written on.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: String,
    start: LocalDateTime,
    #[serde(default)]
    fixture: RawFixture,
    config: Option<Spanned<toml::Table>>,
    #[serde(rename = "step", default)]
    steps: Vec<Spanned<RawStep>>,
}

/// The data a scenario starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixtureBase {
    /// The demo NGO from `sandesh::demo::seed`, with slots from the
    /// scenario's start date.
    #[default]
    Demo,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFixture {
    #[serde(default)]
    base: FixtureBase,
    #[serde(default)]
    agents: Vec<Spanned<AgentFixture>>,
    #[serde(default)]
    slots: Vec<Spanned<SlotFixture>>,
    #[serde(default)]
    slot_series: Vec<Spanned<SlotSeriesFixture>>,
}

/// The base data and the scenario's own changes to it.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub base: FixtureBase,
    pub agents: Vec<Located<AgentFixture>>,
    pub slots: Vec<Located<SlotFixture>>,
    pub slot_series: Vec<Located<SlotSeriesFixture>>,
}

/// Changes a demo agent (given fields only) or adds a new one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFixture {
    pub id: i32,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// `en`, `hi` or `mr`.
    pub language: Option<String>,
    pub active: Option<bool>,
    /// Facility codes that replace the agent's assignments.
    pub facilities: Option<Vec<String>>,
}

/// Changes one existing slot, found by facility, case type and start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotFixture {
    pub facility: String,
    pub case: String,
    pub start: LocalDateTime,
    pub capacity: Option<i32>,
    pub booked: Option<i32>,
    pub cancelled: Option<bool>,
}

/// Adds a slot series and creates its slots.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSeriesFixture {
    pub facility: String,
    pub case: String,
    /// Local start of the first slot.
    pub first: LocalDateTime,
    pub capacity: i32,
    /// `never` (one slot, the default), `weekly` or `monthly`.
    #[serde(default = "default_recurrence")]
    pub recurrence: String,
    /// Last local date of a repeating series. The default is 28 days from
    /// the first slot, as long as the demo's slots.
    pub until: Option<LocalDate>,
}

fn default_recurrence() -> String {
    "never".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    note: Option<String>,
    inbound: Option<String>,
    from: Option<String>,
    from_agent: Option<i32>,
    provider_id: Option<String>,
    at: Option<ClockTarget>,
    advance: Option<StepDuration>,
    restart: Option<bool>,
    scheduler_crash_after_batches: Option<usize>,
    cancel_slot: Option<CancelSlot>,
    expect_sms: Option<Vec<ExpectedSms>>,
    expect_flags: Option<Vec<ExpectedFlag>>,
    expect_tasks: Option<Vec<ExpectedTask>>,
    expect_inbound: Option<Vec<ExpectedInbound>>,
}

/// One `[[step]]`: at most one action, then the expectations checked after it.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position among the steps.
    pub number: usize,
    pub line: usize,
    pub note: Option<String>,
    pub action: Option<Action>,
    pub expect_sms: Option<Vec<ExpectedSms>>,
    pub expect_flags: Option<Vec<ExpectedFlag>>,
    pub expect_tasks: Option<Vec<ExpectedTask>>,
    pub expect_inbound: Option<Vec<ExpectedInbound>>,
}

/// The action of a step, done before its expectations are checked.
#[derive(Debug, Clone)]
pub enum Action {
    Inbound(InboundSms),
    /// Moves the clock, then runs the scheduler once.
    MoveClock(ClockMove),
    /// Stops the engine and starts a new one on the same database. A clock
    /// move happens while the engine is down, so the scheduler runs only
    /// once, when the new engine starts.
    Restart {
        while_down: Option<ClockMove>,
    },
    /// Moves the clock if asked, runs at most `after_batches` follow-up
    /// batches, then restarts the engine as after a crash.
    SchedulerCrash {
        after_batches: usize,
        clock: Option<ClockMove>,
    },
    /// An admin cancels a slot.
    CancelSlot(CancelSlot),
}

/// A move of the virtual clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    At(ClockTarget),
    Advance(StepDuration),
}

/// The slot an admin cancels, found by facility, case type and local start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelSlot {
    pub facility: String,
    pub case: String,
    pub start: LocalDateTime,
    /// Also cancel every later slot of the slot's series.
    #[serde(default)]
    pub rest: bool,
}

/// An SMS arriving at the webhook.
#[derive(Debug, Clone)]
pub struct InboundSms {
    pub text: String,
    pub sender: Sender,
    pub provider_id: Option<String>,
}

/// The sender of an inbound SMS.
#[derive(Debug, Clone)]
pub enum Sender {
    /// A phone number as the provider would deliver it.
    Phone(String),
    /// The registered phone of this agent.
    Agent(i32),
}

/// Step keys that start an action other than a clock move.
const ACTION_KEYS: [&str; 4] = ["inbound", "restart", "scheduler_crash_after_batches", "cancel_slot"];

impl Step {
    fn from_raw(number: usize, line: usize, raw: RawStep) -> Result<Self, String> {
        let mut keys: Vec<&str> = Vec::new();
        if raw.inbound.is_some() {
            keys.push("inbound");
        }
        if raw.restart.is_some() {
            keys.push("restart");
        }
        if raw.scheduler_crash_after_batches.is_some() {
            keys.push("scheduler_crash_after_batches");
        }
        if raw.cancel_slot.is_some() {
            keys.push("cancel_slot");
        }
        if raw.at.is_some() {
            keys.push("at");
        }
        if raw.advance.is_some() {
            keys.push("advance");
        }
        check_action_keys(&keys)?;

        let clock = match (raw.at, raw.advance) {
            (Some(target), _) => Some(ClockMove::At(target)),
            (None, Some(duration)) => Some(ClockMove::Advance(duration)),
            (None, None) => None,
        };
        let action = if let Some(text) = raw.inbound {
            pattern::validate(&text).map_err(|message| format!("inbound: {message}"))?;
            let sender = match (raw.from, raw.from_agent) {
                (Some(phone), None) => Sender::Phone(phone),
                (None, Some(agent)) => Sender::Agent(agent),
                (Some(_), Some(_)) => {
                    return Err("give either `from` (a phone number) or `from_agent` (an agent id), not both".into())
                }
                (None, None) => {
                    return Err(
                        "an `inbound` SMS needs a sender: add `from = \"+919812345678\"` or `from_agent = 12`".into()
                    )
                }
            };
            Some(Action::Inbound(InboundSms { text, sender, provider_id: raw.provider_id }))
        } else if raw.from.is_some() || raw.from_agent.is_some() || raw.provider_id.is_some() {
            return Err(
                "`from`, `from_agent` and `provider_id` belong to an `inbound` step: add `inbound = \"...\"`".into()
            );
        } else if let Some(restart) = raw.restart {
            if !restart {
                return Err("`restart = false` does nothing: write `restart = true` or remove the key".into());
            }
            Some(Action::Restart { while_down: clock })
        } else if let Some(after_batches) = raw.scheduler_crash_after_batches {
            if after_batches == 0 {
                return Err("`scheduler_crash_after_batches = 0` crashes before any follow-up is sent: use 1 or \
                            more, or `restart = true` for a restart without a partial run"
                    .into());
            }
            Some(Action::SchedulerCrash { after_batches, clock })
        } else if let Some(cancel) = raw.cancel_slot {
            Some(Action::CancelSlot(cancel))
        } else {
            clock.map(Action::MoveClock)
        };

        if let Some(expected) = &raw.expect_sms {
            for (index, sms) in expected.iter().enumerate() {
                pattern::validate(&sms.text).map_err(|message| format!("expect_sms item {}: {message}", index + 1))?;
            }
        }
        if let Some(expected) = &raw.expect_flags {
            for (index, flag) in expected.iter().enumerate() {
                if let Some(detail) = &flag.detail {
                    pattern::validate(detail)
                        .map_err(|message| format!("expect_flags item {}: {message}", index + 1))?;
                }
            }
        }
        if let Some(expected) = &raw.expect_inbound {
            for (index, inbound) in expected.iter().enumerate() {
                if let Some(text) = &inbound.text {
                    pattern::validate(text)
                        .map_err(|message| format!("expect_inbound item {}: {message}", index + 1))?;
                }
            }
        }

        let has_expectation = raw.expect_sms.is_some()
            || raw.expect_flags.is_some()
            || raw.expect_tasks.is_some()
            || raw.expect_inbound.is_some();
        if action.is_none() && !has_expectation {
            return Err(format!(
                "the step is empty: give it `at`, `advance`, `{}` or an expect_* list",
                ACTION_KEYS.join("`, `")
            ));
        }
        Ok(Self {
            number,
            line,
            note: raw.note,
            action,
            expect_sms: raw.expect_sms,
            expect_flags: raw.expect_flags,
            expect_tasks: raw.expect_tasks,
            expect_inbound: raw.expect_inbound,
        })
    }
}

/// Checks that the action keys of one step go together: at most one of
/// [`ACTION_KEYS`] and at most one clock move, and a clock move only alone
/// or with `restart` or `scheduler_crash_after_batches`.
fn check_action_keys(keys: &[&str]) -> Result<(), String> {
    let actions: Vec<&str> = keys.iter().copied().filter(|key| ACTION_KEYS.contains(key)).collect();
    let clock_moves: Vec<&str> = keys.iter().copied().filter(|key| !ACTION_KEYS.contains(key)).collect();
    let combinable = matches!(actions.as_slice(), [] | ["restart"] | ["scheduler_crash_after_batches"]);
    if actions.len() > 1 || clock_moves.len() > 1 || (!clock_moves.is_empty() && !combinable) {
        return Err(format!(
            "a step does one thing, but this one has {}: put each in its own [[step]] (only `restart` and \
             `scheduler_crash_after_batches` may share a step with one `at` or `advance`)",
            keys.join(" and ")
        ));
    }
    Ok(())
}

/// An expected SMS handed to the provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawExpectedSms")]
pub struct ExpectedSms {
    pub to: Recipient,
    pub text: String,
}

/// The recipient of an expected SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Phone(String),
    Agent(i32),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectedSms {
    to: Option<String>,
    to_agent: Option<i32>,
    text: String,
}

impl TryFrom<RawExpectedSms> for ExpectedSms {
    type Error = String;

    fn try_from(raw: RawExpectedSms) -> Result<Self, Self::Error> {
        let to = match (raw.to, raw.to_agent) {
            (Some(phone), None) => Recipient::Phone(phone),
            (None, Some(agent)) => Recipient::Agent(agent),
            (Some(_), Some(_)) => return Err("give either `to` or `to_agent` for an expected SMS, not both".into()),
            (None, None) => {
                return Err("an expected SMS needs `to = \"+919876543210\"` or `to_agent = 12`".into());
            }
        };
        Ok(Self { to, text: raw.text })
    }
}

/// An expected flagged message; unset fields are not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFlag {
    /// Reason code, such as `unknown_case_type`.
    pub reason: String,
    /// A part of the detail text officers read.
    pub detail: Option<String>,
    pub agent: Option<i32>,
}

/// An expected appointment task; unset fields are not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTask {
    pub beneficiary: Option<String>,
    pub phone: Option<String>,
    pub agent: Option<i32>,
    pub case: Option<String>,
    pub facility: Option<String>,
    /// Local start of the booked slot.
    pub appointment: Option<LocalDateTime>,
    pub status: Option<String>,
}

/// An expected stored inbound message; unset fields are not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedInbound {
    pub from: Option<String>,
    pub text: Option<String>,
    /// `received`, `processed` or `duplicate`.
    pub status: Option<String>,
    /// `booked`, `flagged` or `duplicate`.
    pub outcome: Option<String>,
}

const DATE_TIME_HINT: &str = "write a local date and time as \"YYYY-MM-DD HH:MM\", such as \"2026-12-07 08:00\"";

/// A local date and time as scenarios write it: `"2026-12-07 08:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDateTime(pub NaiveDateTime);

impl LocalDateTime {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .map(Self)
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d %H:%M"))
    }
}

impl<'de> Deserialize<'de> for LocalDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = time_text(deserializer)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid date and time {text:?}: {DATE_TIME_HINT}")))
    }
}

/// A local date: `"2026-12-31"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDate(pub NaiveDate);

impl<'de> Deserialize<'de> for LocalDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = time_text(deserializer)?;
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map(Self).map_err(|_| {
            serde::de::Error::custom(format!(
                "invalid date {text:?}: write it as \"YYYY-MM-DD\", such as \"2026-12-31\""
            ))
        })
    }
}

/// The target of an `at` step: a full local date and time, or a time of
/// day on the clock's current local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockTarget {
    DateTime(LocalDateTime),
    TimeOfDay(NaiveTime),
}

impl<'de> Deserialize<'de> for ClockTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = time_text(deserializer)?;
        if let Some(date_time) = LocalDateTime::parse(&text) {
            return Ok(ClockTarget::DateTime(date_time));
        }
        ["%H:%M", "%H:%M:%S"]
            .iter()
            .find_map(|format| NaiveTime::parse_from_str(text.trim(), format).ok())
            .map(ClockTarget::TimeOfDay)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid time {text:?}: write \"HH:MM\" for a time today, or {DATE_TIME_HINT}"
                ))
            })
    }
}

/// Reads a string, or a TOML date-time literal written without quotes.
fn time_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match toml::Value::deserialize(deserializer)? {
        toml::Value::String(text) => Ok(text),
        toml::Value::Datetime(datetime) if datetime.offset.is_none() => Ok(datetime.to_string()),
        toml::Value::Datetime(datetime) => Err(serde::de::Error::custom(format!(
            "{datetime} has a UTC offset, but scenario times are local to time.zone: {DATE_TIME_HINT}"
        ))),
        other => Err(serde::de::Error::custom(format!("expected a time in quotes, found {other}: {DATE_TIME_HINT}"))),
    }
}

/// How far an `advance` step moves the clock: `"90s"`, `"5m"`, `"2h"`,
/// `"1d"`, or combinations such as `"1h 30m"` and `"2 days"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepDuration(pub chrono::Duration);

impl StepDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let hint = "write a number and a unit (s, m, h or d), such as \"90s\", \"5m\", \"1h 30m\" or \"28d\"";
        let mut total = chrono::Duration::zero();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(format!("the duration is empty: {hint}"));
        }
        while !rest.is_empty() {
            let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            let amount: i64 = rest[..digits_end].parse().map_err(|_| format!("invalid duration {text:?}: {hint}"))?;
            rest = rest[digits_end..].trim_start();
            let unit_end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
            let seconds_per_unit = match &rest[..unit_end] {
                "s" | "sec" | "secs" | "second" | "seconds" => 1,
                "m" | "min" | "mins" | "minute" | "minutes" => 60,
                "h" | "hour" | "hours" => 3_600,
                "d" | "day" | "days" => 86_400,
                _ => return Err(format!("invalid duration {text:?}: {hint}")),
            };
            let seconds = amount
                .checked_mul(seconds_per_unit)
                .filter(|seconds| *seconds <= 366 * 86_400)
                .ok_or_else(|| format!("duration {text:?} is longer than a year; advance in smaller steps"))?;
            total += chrono::Duration::seconds(seconds);
            rest = rest[unit_end..].trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        }
        Ok(Self(total))
    }
}

impl<'de> Deserialize<'de> for StepDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
description = "minimal"
start = "2026-12-07 08:00"

[[step]]
expect_sms = []
"#;

    #[test]
    fn minimal_scenario_parses() {
        let scenario = parse(MINIMAL).expect("parses");
        assert_eq!(scenario.start.to_string(), "2026-12-07 08:00");
        assert_eq!(scenario.fixture.base, FixtureBase::Demo);
        assert_eq!(scenario.steps.len(), 1);
        assert_eq!(scenario.steps[0].line, 5);
    }

    #[test]
    fn durations_parse() {
        let cases = [("90s", 90), ("5m", 300), ("1h 30m", 5_400), ("2 days", 172_800), ("1d,2h", 93_600)];
        for (text, seconds) in cases {
            assert_eq!(StepDuration::parse(text).map(|d| d.0.num_seconds()), Ok(seconds), "{text}");
        }
        for bad in ["", "5", "m", "5 weeks", "-5m", "9999d"] {
            assert!(StepDuration::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn step_with_two_actions_names_its_line() {
        let source = format!("{MINIMAL}\n[[step]]\nat = \"09:00\"\nadvance = \"5m\"\n");
        let error = parse(&source).expect_err("two actions");
        assert_eq!(error.line, Some(8), "{error}");
        assert!(error.message.contains("step 2"), "{error}");
        assert!(error.message.contains("own [[step]]"), "{error}");
    }

    #[test]
    fn inbound_without_sender_is_rejected() {
        let source = format!("{MINIMAL}\n[[step]]\ninbound = \"12 ANC Seema 9876543210\"\n");
        let error = parse(&source).expect_err("no sender");
        assert!(error.message.contains("from_agent"), "{error}");
    }

    #[test]
    fn bad_time_names_line_and_format() {
        let source = MINIMAL.replace("2026-12-07 08:00", "7-12-2026");
        let error = parse(&source).expect_err("bad time");
        assert!(error.message.contains("line 3"), "{error}");
        assert!(error.message.contains("YYYY-MM-DD HH:MM"), "{error}");
    }

    #[test]
    fn unquoted_toml_datetime_is_accepted() {
        let source = MINIMAL.replace("\"2026-12-07 08:00\"", "2026-12-07T08:00:00");
        let scenario = parse(&source).expect("parses");
        assert_eq!(scenario.start.to_string(), "2026-12-07 08:00");
    }

    #[test]
    fn clock_target_accepts_time_of_day() {
        let source = format!("{MINIMAL}\n[[step]]\nat = \"09:30\"\n");
        let scenario = parse(&source).expect("parses");
        assert!(matches!(scenario.steps[1].action, Some(Action::MoveClock(ClockMove::At(ClockTarget::TimeOfDay(_))))));
    }

    fn step_error(step: &str) -> FormatError {
        parse(&format!("{MINIMAL}\n[[step]]\n{step}\n")).expect_err("invalid step")
    }

    fn second_action(step: &str) -> Action {
        let scenario = parse(&format!("{MINIMAL}\n[[step]]\n{step}\n")).expect("parses");
        scenario.steps[1].action.clone().expect("an action")
    }

    #[test]
    fn restart_parses_alone_or_with_clock_move() {
        assert!(matches!(second_action("restart = true"), Action::Restart { while_down: None }));
        assert!(matches!(
            second_action("restart = true\nat = \"2026-12-09 09:00\""),
            Action::Restart { while_down: Some(ClockMove::At(ClockTarget::DateTime(_))) }
        ));
        match second_action("restart = true\nadvance = \"1d 13h\"") {
            Action::Restart { while_down: Some(ClockMove::Advance(duration)) } => {
                assert_eq!(duration.0.num_hours(), 37);
            }
            other => panic!("unexpected action {other:?}"),
        }
    }

    #[test]
    fn restart_false_is_rejected() {
        let error = step_error("restart = false");
        assert_eq!(error.line, Some(8), "{error}");
        assert!(error.message.contains("`restart = true`"), "{error}");
    }

    #[test]
    fn restart_with_inbound_is_rejected() {
        let error = step_error("restart = true\ninbound = \"12 ANC Seema 9876543210\"\nfrom_agent = 12");
        assert_eq!(error.line, Some(8), "{error}");
        assert!(error.message.contains("inbound and restart"), "{error}");
        assert!(error.message.contains("own [[step]]"), "{error}");
    }

    #[test]
    fn clock_move_with_inbound_is_rejected() {
        let error = step_error("at = \"09:00\"\ninbound = \"12 ANC Seema 9876543210\"\nfrom_agent = 12");
        assert!(error.message.contains("inbound and at"), "{error}");
    }

    #[test]
    fn scheduler_crash_parses_with_clock_move() {
        match second_action("at = \"20:00\"\nscheduler_crash_after_batches = 2") {
            Action::SchedulerCrash { after_batches, clock } => {
                assert_eq!(after_batches, 2);
                assert!(matches!(clock, Some(ClockMove::At(ClockTarget::TimeOfDay(_)))));
            }
            other => panic!("unexpected action {other:?}"),
        }
    }

    #[test]
    fn scheduler_crash_needs_a_batch() {
        let error = step_error("scheduler_crash_after_batches = 0");
        assert_eq!(error.line, Some(8), "{error}");
        assert!(error.message.contains("use 1 or more"), "{error}");

        let error = step_error("scheduler_crash_after_batches = -1");
        assert!(error.message.contains("line 9"), "{error}");
    }

    #[test]
    fn scheduler_crash_with_restart_is_rejected() {
        let error = step_error("scheduler_crash_after_batches = 1\nrestart = true");
        assert!(error.message.contains("restart and scheduler_crash_after_batches"), "{error}");
    }

    #[test]
    fn cancel_slot_parses() {
        let step = "cancel_slot = { facility = \"WGL\", case = \"ANC\", start = \"2026-12-08 10:00\", rest = true }";
        match second_action(step) {
            Action::CancelSlot(cancel) => {
                assert_eq!(cancel.facility, "WGL");
                assert_eq!(cancel.case, "ANC");
                assert_eq!(cancel.start.to_string(), "2026-12-08 10:00");
                assert!(cancel.rest);
            }
            other => panic!("unexpected action {other:?}"),
        }
        let step = "cancel_slot = { facility = \"WGL\", case = \"ANC\", start = \"2026-12-08 10:00\" }";
        assert!(matches!(second_action(step), Action::CancelSlot(CancelSlot { rest: false, .. })));
    }

    #[test]
    fn cancel_slot_errors_name_line_and_field() {
        let error = step_error("cancel_slot = { facility = \"WGL\", start = \"2026-12-08 10:00\" }");
        assert!(error.message.contains("line 9"), "{error}");
        assert!(error.message.contains("missing field `case`"), "{error}");

        let error = step_error(
            "cancel_slot = { facility = \"WGL\", case = \"ANC\", start = \"2026-12-08 10:00\", all = true }",
        );
        assert!(error.message.contains("unknown field `all`"), "{error}");

        let error = step_error(
            "cancel_slot = { facility = \"WGL\", case = \"ANC\", start = \"2026-12-08 10:00\" }\nadvance = \"5m\"",
        );
        assert!(error.message.contains("cancel_slot and advance"), "{error}");
    }

    #[test]
    fn unknown_transform_names_line_and_fix() {
        let error = step_error("inbound = \"-1 SC 9876543210 Seema {id|typ}\"\nfrom_agent = 12");
        assert_eq!(error.line, Some(8), "{error}");
        assert!(error.message.contains("inbound: {id|typ} has an unknown transform"), "{error}");
        assert!(error.message.contains("{id|typo}"), "{error}");

        let error =
            step_error("expect_sms = [{ to_agent = 12, text = \"ok\" }, { to_agent = 12, text = \"{id|swp}\" }]");
        assert!(error.message.contains("expect_sms item 2: {id|swp}"), "{error}");

        let error = step_error("expect_flags = [{ reason = \"invalid_tracking_id\", detail = \"{id|x}\" }]");
        assert!(error.message.contains("expect_flags item 1"), "{error}");
    }

    #[test]
    fn transforms_parse_in_inbound() {
        match second_action("inbound = \"-1 SC 9876543210 Seema {id|swap}\"\nfrom_agent = 12") {
            Action::Inbound(sms) => assert_eq!(sms.text, "-1 SC 9876543210 Seema {id|swap}"),
            other => panic!("unexpected action {other:?}"),
        }
    }
}
