//! Measures the scheduler's nightly follow-up run over one day with many
//! appointments: wall time, follow-ups per second and peak memory, next to
//! a baseline measured in the same process on the same database file:
//! inserting the same number of outbox rows in transactions of the same
//! size, which is the least work a run must do.
//!
//! Run with `cargo bench --bench nightly`. `SANDESH_BENCH_APPOINTMENTS`
//! sets the number of appointments (default 100000).

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use sandesh::booking::BookingContext;
use sandesh::config::Settings;
use sandesh::db::ids::{AgentId, BeneficiaryId, CaseTypeId, FacilityId, SlotId};
use sandesh::db::organisation::{
    Agent, CaseType, Corporation, Facility, NewAgent, NewCaseType, NewCorporation, NewFacility,
};
use sandesh::db::schema::{beneficiaries, outbound_messages, slots, tasks};
use sandesh::db::slots::{local_to_utc, NewSlotSeries, SlotSeries};
use sandesh::db::{write_transaction, Database, DbConnection};
use sandesh::followup::run::send_follow_ups;
use sandesh::sms::Catalog;

const AGENTS: i32 = 200;
const INSERT_CHUNK: usize = 1_000;

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("{name}={text} is not a whole number")),
        Err(_) => default,
    }
}

/// Peak resident memory since the last reset, in KiB, from /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn current_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the kernel's peak RSS counter for this process (Linux 4.0+).
fn reset_peak_rss() {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("note: could not reset the peak RSS counter; peak memory includes the set-up");
    }
}

fn seed(
    connection: &mut DbConnection,
    appointments: usize,
    day: NaiveDate,
    zone: chrono_tz::Tz,
    now: NaiveDateTime,
) -> SlotId {
    write_transaction(connection, |connection| {
        let corporation = Corporation::insert(
            connection,
            &NewCorporation { name: "Bench Corporation", address: "", area: "", created_at: now },
        )?;
        let facility = Facility::insert(
            connection,
            &NewFacility {
                corporation_id: corporation.id,
                name: "Bench HP",
                code: "BEN",
                address: "Bench Road",
                created_at: now,
            },
        )?;
        let case_type = CaseType::insert(
            connection,
            &NewCaseType { code: "ANC", name: "Antenatal care", description: "", created_at: now },
        )?;
        for id in 1..=AGENTS {
            let phone = format!("+9198{id:08}");
            Agent::insert(
                connection,
                &NewAgent {
                    id: AgentId(id),
                    name: "Agent",
                    phone: &phone,
                    language: "en",
                    active: true,
                    created_at: now,
                },
            )?;
            Agent::assign_facility(connection, AgentId(id), facility.id)?;
        }
        let series = SlotSeries::insert(
            connection,
            &NewSlotSeries {
                facility_id: facility.id,
                case_type_id: case_type.id,
                first_date: day,
                start_time: NaiveTime::from_hms_opt(10, 0, 0).expect("valid time"),
                capacity: i32::try_from(appointments).expect("appointments fit i32"),
                recurrence: "never",
                end_date: None,
                occurrences: None,
                created_at: now,
            },
        )?;
        series.materialise(connection, zone, day, now)?;
        let slot: SlotId = slots::table.select(slots::id).first(connection)?;
        Ok::<_, diesel::result::Error>(slot)
    })
    .expect("seeding fixture")
}

fn insert_tasks(connection: &mut DbConnection, appointments: usize, slot: SlotId, now: NaiveDateTime) {
    for start in (0..appointments).step_by(INSERT_CHUNK) {
        let end = (start + INSERT_CHUNK).min(appointments);
        write_transaction(connection, |connection| {
            let people: Vec<_> = (start..end)
                .map(|index| {
                    (
                        beneficiaries::id.eq(i32::try_from(index + 1).expect("fits")),
                        beneficiaries::phone.eq(format!("+9197{index:08}")),
                        beneficiaries::name.eq(format!("Person {index}")),
                        beneficiaries::created_at.eq(now),
                        beneficiaries::updated_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(beneficiaries::table).values(&people).execute(connection)?;
            let rows: Vec<_> = (start..end)
                .map(|index| {
                    let agent = i32::try_from(index).expect("fits") % AGENTS + 1;
                    (
                        tasks::agent_id.eq(AgentId(agent)),
                        tasks::case_type_id.eq(CaseTypeId(1)),
                        tasks::facility_id.eq(FacilityId(1)),
                        tasks::slot_id.eq(slot),
                        tasks::beneficiary_id.eq(BeneficiaryId(i32::try_from(index + 1).expect("fits"))),
                        tasks::beneficiary_name.eq(format!("Person {index}")),
                        tasks::beneficiary_phone.eq(format!("+9197{index:08}")),
                        tasks::status.eq("booked"),
                        tasks::reschedule_count.eq(0),
                        tasks::created_at.eq(now),
                        tasks::updated_at.eq(now),
                    )
                })
                .collect();
            diesel::insert_into(tasks::table).values(&rows).execute(connection)?;
            Ok::<_, diesel::result::Error>(())
        })
        .expect("inserting tasks");
    }
}

/// Inserts `count` outbox rows in transactions of `batch`, the baseline.
fn baseline_inserts(connection: &mut DbConnection, count: usize, batch: usize, now: NaiveDateTime) -> f64 {
    let started = Instant::now();
    for start in (0..count).step_by(batch) {
        let end = (start + batch).min(count);
        write_transaction(connection, |connection| {
            for index in start..end {
                diesel::insert_into(outbound_messages::table)
                    .values((
                        outbound_messages::channel.eq("sms"),
                        outbound_messages::recipient.eq(format!("+9196{index:08}")),
                        outbound_messages::text
                            .eq("Follow-up 123456: did Person go to Bench HP on 07-12-2026 10:00 (ANC)?"),
                        outbound_messages::template_id.eq("baseline"),
                        outbound_messages::language.eq("en"),
                        outbound_messages::status.eq("failed"),
                        outbound_messages::attempts.eq(0),
                        outbound_messages::next_attempt_at.eq(now),
                        outbound_messages::created_at.eq(now),
                        outbound_messages::updated_at.eq(now),
                    ))
                    .execute(connection)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .expect("baseline insert");
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    let appointments = env_number("SANDESH_BENCH_APPOINTMENTS", 100_000);
    let directory = tempfile::tempdir().expect("temporary directory");
    let mut settings = Settings::load(None).expect("default settings");
    settings.database.url = directory.path().join("nightly.db").display().to_string();
    let zone = settings.zone();
    let batch = usize::try_from(settings.scheduler.batch_size).expect("fits");
    let database = Database::open(&settings.database).expect("database opens");
    let context =
        BookingContext { zone, settings: Arc::new(settings), catalog: Arc::new(Catalog::load().expect("catalogues")) };

    let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("valid date");
    let morning = local_to_utc(zone, day, NaiveTime::from_hms_opt(6, 0, 0).expect("time")).expect("instant");
    let evening = local_to_utc(zone, day, NaiveTime::from_hms_opt(20, 0, 0).expect("time")).expect("instant");
    let mut connection = database.connection().expect("connection");

    eprintln!("seeding {appointments} appointments on {day} ...");
    let seed_started = Instant::now();
    let slot = seed(&mut connection, appointments, day, zone, morning);
    insert_tasks(&mut connection, appointments, slot, morning);
    eprintln!("seeded in {:.1} s", seed_started.elapsed().as_secs_f64());

    let rss_before = current_rss_kib();
    reset_peak_rss();
    let started = Instant::now();
    let sent = send_follow_ups(&mut connection, &context, evening, None).expect("nightly run");
    let run_secs = started.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    assert_eq!(sent, appointments, "the run must follow up every appointment");

    eprintln!("baseline: {appointments} plain outbox inserts in transactions of {batch} ...");
    let baseline_secs = baseline_inserts(&mut connection, appointments, batch, evening);

    println!("nightly follow-up run over {appointments} appointments of one day");
    println!("  follow-ups sent          {sent}");
    println!("  run time                 {run_secs:.2} s");
    println!("  follow-ups per second    {:.0}", sent as f64 / run_secs);
    if let (Some(before), Some(peak)) = (rss_before, peak) {
        println!("  RSS before run           {:.1} MiB", before as f64 / 1024.0);
        println!("  peak RSS during run      {:.1} MiB", peak as f64 / 1024.0);
    }
    println!("baseline: plain outbox inserts, same count and transaction size");
    println!("  time                     {baseline_secs:.2} s");
    println!("  rows per second          {:.0}", appointments as f64 / baseline_secs);
    println!("ratio run time / baseline  {:.2}", run_secs / baseline_secs);
}
