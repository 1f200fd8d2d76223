//! A scenario's starting data: the demo NGO seeded for the scenario's start
//! date, then the scenario's own changes to agents, slots and slot series.

use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::format::{AgentFixture, Fixture, FixtureBase, LocalDateTime, Located, SlotFixture, SlotSeriesFixture};
use crate::db::ids::AgentId;
use crate::db::organisation::{Agent, CaseType, Facility, NewAgent};
use crate::db::schema::{agent_facilities, agents, facilities, slots};
use crate::db::slots::{local_to_utc, NewSlotSeries, Recurrence, Slot, SlotSeries};
use crate::db::{write_transaction, DbConnection};
use crate::sms::{Language, PhoneNumber};

/// A fixture entry that cannot be applied, with the line it was written on.
#[derive(Debug)]
pub struct FixtureError {
    pub line: Option<usize>,
    pub message: String,
}

impl From<diesel::result::Error> for FixtureError {
    fn from(error: diesel::result::Error) -> Self {
        Self { line: None, message: format!("writing the fixture to the database failed: {error}") }
    }
}

/// Seeds the base data for local date `today`, then applies the
/// scenario's changes in one transaction.
pub fn apply(
    connection: &mut DbConnection,
    fixture: &Fixture,
    zone: Tz,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<(), FixtureError> {
    // The seed runs its own transaction, so it cannot be nested in ours.
    match fixture.base {
        FixtureBase::Demo => {
            if !crate::demo::seed(connection, zone, today, now)? {
                return Err(FixtureError {
                    line: None,
                    message: "the replay database already had data, so the demo was not seeded".to_owned(),
                });
            }
        }
    }
    write_transaction(connection, |connection| {
        for entry in &fixture.agents {
            apply_agent(connection, &entry.value, now).map_err(|message| located(entry, message))?;
        }
        for entry in &fixture.slots {
            apply_slot(connection, &entry.value, zone).map_err(|message| located(entry, message))?;
        }
        for entry in &fixture.slot_series {
            add_series(connection, &entry.value, zone, now).map_err(|message| located(entry, message))?;
        }
        Ok(())
    })
}

fn located<T>(entry: &Located<T>, message: String) -> FixtureError {
    FixtureError { line: Some(entry.line), message }
}

/// Errors inside one entry: a message for the scenario author, or a
/// database error turned into one.
type EntryResult<T> = Result<T, String>;

fn query<T>(result: QueryResult<T>) -> EntryResult<T> {
    result.map_err(|error| format!("database query failed: {error}"))
}

fn apply_agent(connection: &mut DbConnection, change: &AgentFixture, now: NaiveDateTime) -> EntryResult<()> {
    let id = AgentId(change.id);
    if let Some(language) = &change.language {
        language.parse::<Language>().map_err(|error| format!("agent {id}: {error}"))?;
    }
    let phone = match &change.phone {
        Some(phone) => Some(
            PhoneNumber::parse_e164(phone)
                .map(String::from)
                .map_err(|error| format!("agent {id}: invalid phone: {error}"))?,
        ),
        None => None,
    };

    match query(Agent::find(connection, id))? {
        Some(_) => {
            let row = agents::table.find(id);
            if let Some(name) = &change.name {
                query(diesel::update(row).set(agents::name.eq(name)).execute(connection))?;
            }
            if let Some(phone) = &phone {
                query(diesel::update(row).set(agents::phone.eq(phone)).execute(connection))?;
            }
            if let Some(language) = &change.language {
                query(
                    diesel::update(row)
                        .set(agents::language.eq(language.trim().to_ascii_lowercase()))
                        .execute(connection),
                )?;
            }
            if let Some(active) = change.active {
                query(diesel::update(row).set(agents::active.eq(active)).execute(connection))?;
            }
        }
        None => {
            let missing = |key: &str| {
                format!("agent {id} is not in the demo data, so adding it needs `name`, `phone` and `language`; `{key}` is missing")
            };
            let name = change.name.as_deref().ok_or_else(|| missing("name"))?;
            let phone = phone.as_deref().ok_or_else(|| missing("phone"))?;
            let language = change.language.as_deref().ok_or_else(|| missing("language"))?;
            query(Agent::insert(
                connection,
                &NewAgent {
                    id,
                    name,
                    phone,
                    language: &language.trim().to_ascii_lowercase(),
                    active: change.active.unwrap_or(true),
                    created_at: now,
                },
            ))?;
        }
    }

    if let Some(codes) = &change.facilities {
        query(diesel::delete(agent_facilities::table.filter(agent_facilities::agent_id.eq(id))).execute(connection))?;
        for code in codes {
            let facility = find_facility(connection, code)?;
            query(Agent::assign_facility(connection, id, facility.id))?;
        }
    }
    Ok(())
}

fn apply_slot(connection: &mut DbConnection, change: &SlotFixture, zone: Tz) -> EntryResult<()> {
    let slot = find_slot(connection, zone, &change.facility, &change.case, change.start)?;
    let capacity = change.capacity.unwrap_or(slot.capacity);
    let booked = change.booked.unwrap_or(slot.booked);
    if capacity < 0 || booked < 0 {
        return Err("capacity and booked must be 0 or more".to_owned());
    }
    if booked > capacity {
        return Err(format!("booked ({booked}) is more than capacity ({capacity}); a slot never holds more"));
    }
    query(
        diesel::update(slots::table.find(slot.id))
            .set((slots::capacity.eq(capacity), slots::booked.eq(booked)))
            .execute(connection),
    )?;
    if let Some(cancelled) = change.cancelled {
        query(diesel::update(slots::table.find(slot.id)).set(slots::cancelled.eq(cancelled)).execute(connection))?;
    }
    Ok(())
}

/// Finds the slot of a facility and case type that starts at a local time,
/// or explains which slots exist.
pub fn find_slot(
    connection: &mut DbConnection,
    zone: Tz,
    facility_code: &str,
    case_code: &str,
    start: LocalDateTime,
) -> EntryResult<Slot> {
    let facility = find_facility(connection, facility_code)?;
    let case_type = find_case_type(connection, case_code)?;
    let local = start.0;
    let starts_at = local_to_utc(zone, local.date(), local.time())
        .ok_or_else(|| format!("{start} does not exist in time zone {zone}"))?;
    let found: Option<Slot> = query(
        slots::table
            .filter(slots::facility_id.eq(facility.id))
            .filter(slots::case_type_id.eq(case_type.id))
            .filter(slots::starts_at.eq(starts_at))
            .select(Slot::as_select())
            .first(connection)
            .optional(),
    )?;
    found.ok_or_else(|| {
        format!(
            "no {} slot at {} starts at {start}: demo slots start at 10:00 and 14:00, Monday to Saturday, \
             for 28 days from the start date; add a [[fixture.slot_series]] for other times",
            case_type.code, facility.code
        )
    })
}

fn add_series(
    connection: &mut DbConnection,
    addition: &SlotSeriesFixture,
    zone: Tz,
    now: NaiveDateTime,
) -> EntryResult<()> {
    let facility = find_facility(connection, &addition.facility)?;
    let case_type = find_case_type(connection, &addition.case)?;
    let recurrence = Recurrence::parse(addition.recurrence.trim())
        .ok_or_else(|| format!("recurrence {:?} is unknown: use never, weekly or monthly", addition.recurrence))?;
    if addition.capacity < 1 {
        return Err(format!("capacity {} is too small: a slot series needs at least 1 place", addition.capacity));
    }
    let first_date = addition.first.0.date();
    let end_date = match (recurrence, addition.until) {
        (Recurrence::Never, _) => None,
        (_, Some(until)) => Some(until.0),
        (_, None) => first_date.checked_add_days(Days::new(crate::demo::SLOT_DAYS - 1)),
    };
    if end_date.is_some_and(|end| end < first_date) {
        return Err("`until` is before the first slot".to_owned());
    }

    let series = query(SlotSeries::insert(
        connection,
        &NewSlotSeries {
            facility_id: facility.id,
            case_type_id: case_type.id,
            first_date,
            start_time: addition.first.0.time(),
            capacity: addition.capacity,
            recurrence: recurrence.as_str(),
            end_date,
            occurrences: None,
            created_at: now,
        },
    ))?;
    let created = query(series.materialise(connection, zone, end_date.unwrap_or(first_date), now))?;
    if created == 0 {
        return Err(format!("the series creates no slot: {} does not exist in time zone {zone}", addition.first));
    }
    Ok(())
}

fn find_facility(connection: &mut DbConnection, code: &str) -> EntryResult<Facility> {
    if let Some(facility) = query(Facility::find_by_code(connection, code.trim()))? {
        return Ok(facility);
    }
    let codes: Vec<String> =
        query(facilities::table.select(facilities::code).order(facilities::code.asc()).load(connection))?;
    Err(format!("facility code {code:?} is unknown: use one of {}", codes.join(", ")))
}

fn find_case_type(connection: &mut DbConnection, code: &str) -> EntryResult<CaseType> {
    if let Some(case_type) = query(CaseType::find_by_code(connection, code.trim()))? {
        return Ok(case_type);
    }
    let codes = query(CaseType::all_codes(connection))?;
    Err(format!("case code {code:?} is unknown: use one of {}", codes.join(", ")))
}

/// Converts a local date and time to UTC, or explains why it cannot be.
pub fn to_utc(zone: Tz, local: NaiveDateTime) -> Result<NaiveDateTime, String> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|instant| instant.naive_utc())
        .ok_or_else(|| format!("{} does not exist in time zone {zone}", local.format("%Y-%m-%d %H:%M")))
}
