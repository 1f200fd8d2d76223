//! Demo data: a small NGO with two corporations, three facilities, three
//! case types, three agents and four weeks of slots, so the server and the
//! scenarios have something to book against.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use diesel::QueryResult;

use crate::db::ids::AgentId;
use crate::db::organisation::{
    Agent, CaseType, Corporation, Facility, NewAgent, NewCaseType, NewCorporation, NewFacility,
};
use crate::db::slots::{NewSlotSeries, Recurrence, SlotSeries};
use crate::db::{write_transaction, DbConnection};

/// A demo agent, for docs and tests.
#[derive(Debug, Clone, Copy)]
pub struct DemoAgent {
    pub id: i32,
    pub name: &'static str,
    pub phone: &'static str,
    pub language: &'static str,
    pub facilities: &'static [&'static str],
}

/// The demo agents. Agent 12 works at two facilities in Thane, agent 15 in
/// Mumbai, agent 21 at one facility in Thane.
pub const AGENTS: [DemoAgent; 3] = [
    DemoAgent { id: 12, name: "Asha Patil", phone: "+919812345678", language: "en", facilities: &["WGL", "KSN"] },
    DemoAgent { id: 15, name: "Sunita Yadav", phone: "+919812345679", language: "hi", facilities: &["DHR"] },
    DemoAgent { id: 21, name: "Rekha Shinde", phone: "+919812345680", language: "mr", facilities: &["WGL"] },
];

/// Days of slots the demo creates, starting today.
pub const SLOT_DAYS: u64 = 28;

/// Places per demo slot.
pub const SLOT_CAPACITY: i32 = 10;

/// Creates the demo data unless the database already has corporations.
/// Returns whether it created anything. Slots start on `today` (a local
/// date) at 10:00 and 14:00, Monday to Saturday.
pub fn seed(connection: &mut DbConnection, zone: Tz, today: NaiveDate, now: NaiveDateTime) -> QueryResult<bool> {
    write_transaction(connection, |connection| {
        if Corporation::count(connection)? > 0 {
            return Ok(false);
        }
        let thane = Corporation::insert(
            connection,
            &NewCorporation {
                name: "Thane Municipal Corporation",
                address: "Panchpakhadi, Thane West",
                area: "Thane",
                created_at: now,
            },
        )?;
        let mumbai = Corporation::insert(
            connection,
            &NewCorporation {
                name: "Municipal Corporation of Greater Mumbai",
                address: "Mahapalika Marg, Fort, Mumbai",
                area: "Mumbai",
                created_at: now,
            },
        )?;

        let facilities = [
            Facility::insert(
                connection,
                &NewFacility {
                    corporation_id: thane.id,
                    name: "Wagle HP",
                    code: "WGL",
                    address: "Road 16, Wagle Estate, Thane",
                    created_at: now,
                },
            )?,
            Facility::insert(
                connection,
                &NewFacility {
                    corporation_id: thane.id,
                    name: "Kisan Nagar UPHC",
                    code: "KSN",
                    address: "Kisan Nagar 2, Thane",
                    created_at: now,
                },
            )?,
            Facility::insert(
                connection,
                &NewFacility {
                    corporation_id: mumbai.id,
                    name: "Dharavi HP",
                    code: "DHR",
                    address: "90 Feet Road, Dharavi, Mumbai",
                    created_at: now,
                },
            )?,
        ];

        let case_types = [
            CaseType::insert(
                connection,
                &NewCaseType {
                    code: "ANC",
                    name: "Antenatal care",
                    description: "Check-up during pregnancy",
                    created_at: now,
                },
            )?,
            CaseType::insert(
                connection,
                &NewCaseType {
                    code: "DS",
                    name: "Diabetes screening",
                    description: "Blood sugar test",
                    created_at: now,
                },
            )?,
            CaseType::insert(
                connection,
                &NewCaseType { code: "IM", name: "Immunisation", description: "Child vaccination", created_at: now },
            )?,
        ];

        for agent in AGENTS {
            Agent::insert(
                connection,
                &NewAgent {
                    id: AgentId(agent.id),
                    name: agent.name,
                    phone: agent.phone,
                    language: agent.language,
                    active: true,
                    created_at: now,
                },
            )?;
            for code in agent.facilities {
                if let Some(facility) = facilities.iter().find(|facility| facility.code == *code) {
                    Agent::assign_facility(connection, AgentId(agent.id), facility.id)?;
                }
            }
        }

        let last_day = today.checked_add_days(Days::new(SLOT_DAYS - 1)).unwrap_or(today);
        let times = [NaiveTime::from_hms_opt(10, 0, 0), NaiveTime::from_hms_opt(14, 0, 0)];
        for offset in 0..7 {
            let Some(first_date) = today.checked_add_days(Days::new(offset)) else { continue };
            if first_date.format("%u").to_string() == "7" {
                continue;
            }
            for facility in &facilities {
                for case_type in &case_types {
                    for start_time in times.iter().flatten() {
                        let series = SlotSeries::insert(
                            connection,
                            &NewSlotSeries {
                                facility_id: facility.id,
                                case_type_id: case_type.id,
                                first_date,
                                start_time: *start_time,
                                capacity: SLOT_CAPACITY,
                                recurrence: Recurrence::Weekly.as_str(),
                                end_date: Some(last_day),
                                occurrences: None,
                                created_at: now,
                            },
                        )?;
                        series.materialise(connection, zone, last_day, now)?;
                    }
                }
            }
        }
        Ok(true)
    })
}
