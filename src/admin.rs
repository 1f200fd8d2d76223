//! Command-line administration of slots, for use before the dashboard
//! exists and in scripts. Changes go straight to the database; a running
//! server picks up the SMS they queue.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{Days, NaiveDate, NaiveTime, TimeZone as _, Utc};

use crate::appointments::slots::{self, SeriesRequest};
use crate::booking::BookingContext;
use crate::cli::SlotsCommand;
use crate::config::Settings;
use crate::db::ids::SlotId;
use crate::db::organisation::Facility;
use crate::db::slots::{local_to_utc, Recurrence, Slot};
use crate::db::Database;
use crate::sms::Catalog;

fn parse_date(key: &str, text: &str) -> anyhow::Result<NaiveDate> {
    if let Ok(date) =
        NaiveDate::parse_from_str(text, "%d-%m-%Y").or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
    {
        return Ok(date);
    }
    let shaped_like_a_date = text.len() == 10 && text.chars().filter(|c| *c == '-').count() == 2;
    if shaped_like_a_date && text.chars().all(|c| c.is_ascii_digit() || c == '-') {
        anyhow::bail!("invalid {key} '{text}': that day does not exist in the calendar");
    }
    anyhow::bail!("invalid {key} '{text}': write the date as dd-mm-yyyy, e.g. 07-12-2026")
}

fn parse_time(key: &str, text: &str) -> anyhow::Result<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| anyhow::anyhow!("invalid {key} '{text}': write the time as HH:MM in 24 hours, e.g. 09:30"))
}

/// Runs a `slots` subcommand.
pub fn run_slots(settings: Settings, command: SlotsCommand) -> anyhow::Result<()> {
    settings.validate()?;
    let database = Database::open(&settings.database)?;
    let catalog = Arc::new(Catalog::load().context("loading message catalogues failed")?);
    let zone = settings.zone();
    let context = BookingContext { zone, settings: Arc::new(settings), catalog };
    let now = Utc::now().naive_utc();
    let mut connection = database.connection()?;

    match command {
        SlotsCommand::Create { facility, case_code, date, time, capacity, recurrence, until, count } => {
            let recurrence = Recurrence::parse(&recurrence.to_ascii_lowercase())
                .ok_or_else(|| anyhow::anyhow!("invalid --recurrence '{recurrence}': use never, weekly or monthly"))?;
            let request = SeriesRequest {
                facility_code: facility.to_ascii_uppercase(),
                case_code: case_code.to_ascii_uppercase(),
                first_date: parse_date("--date", &date)?,
                start_time: parse_time("--time", &time)?,
                capacity,
                recurrence,
                end_date: until.as_deref().map(|text| parse_date("--until", text)).transpose()?,
                occurrences: count,
            };
            let (series, created) = slots::create_series(&mut connection, &context, &request, now)?;
            println!("created series {} with {created} slots (later ones are added by the scheduler)", series.id);
        }
        SlotsCommand::List { facility, days } => {
            let facility_id = match facility {
                Some(code) => Some(
                    Facility::find_by_code(&mut connection, &code)?
                        .ok_or_else(|| anyhow::anyhow!("facility code '{code}' is unknown"))?
                        .id,
                ),
                None => None,
            };
            let today = zone.from_utc_datetime(&now).date_naive();
            let start = local_to_utc(zone, today, NaiveTime::MIN).unwrap_or(now);
            let end = today
                .checked_add_days(Days::new(u64::from(days)))
                .and_then(|date| local_to_utc(zone, date, NaiveTime::MIN))
                .unwrap_or(now);
            println!(
                "{:>6}  {:>6}  {:<16}  {:>8}  {:>5}  {:>6}  state",
                "slot", "series", "starts", "facility", "case", "booked"
            );
            for slot in Slot::between(&mut connection, start, end, facility_id)? {
                let facility = Facility::find(&mut connection, slot.facility_id)?;
                let case_type = crate::db::organisation::CaseType::find(&mut connection, slot.case_type_id)?;
                let starts = slot.local_start(zone).format("%d-%m-%Y %H:%M");
                let state = if slot.cancelled { "cancelled" } else { "open" };
                let booked = format!("{}/{}", slot.booked, slot.capacity);
                println!(
                    "{:>6}  {:>6}  {starts:<16}  {:>8}  {:>5}  {booked:>6}  {state}",
                    slot.id, slot.series_id, facility.code, case_type.code
                );
            }
        }
        SlotsCommand::Cancel { slot, rest } => {
            let summary = slots::cancel(&mut connection, &context, SlotId(slot), rest, now)?;
            println!(
                "cancelled {} slots; {} bookings moved to other slots, {} flagged for an officer",
                summary.slots, summary.moved, summary.flagged
            );
        }
        SlotsCommand::Edit { slot, capacity, time, rest } => {
            if capacity.is_none() && time.is_none() {
                anyhow::bail!("nothing to change: give --capacity or --time");
            }
            let time = time.as_deref().map(|text| parse_time("--time", text)).transpose()?;
            let changed = slots::edit(&mut connection, &context, SlotId(slot), capacity, time, rest, now)?;
            println!("changed {changed} slots");
        }
    }
    Ok(())
}
