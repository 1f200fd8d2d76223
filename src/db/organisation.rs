//! Corporations, facilities, case types and agents: the data admins manage.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{AgentId, CaseTypeId, CorporationId, FacilityId};
use super::schema::{agent_facilities, agents, case_types, corporations, facilities};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = corporations)]
pub struct Corporation {
    pub id: CorporationId,
    pub name: String,
    pub address: String,
    pub area: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = corporations)]
pub struct NewCorporation<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub area: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = facilities)]
pub struct Facility {
    pub id: FacilityId,
    pub corporation_id: CorporationId,
    pub name: String,
    pub code: String,
    pub address: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = facilities)]
pub struct NewFacility<'a> {
    pub corporation_id: CorporationId,
    pub name: &'a str,
    pub code: &'a str,
    pub address: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = case_types)]
pub struct CaseType {
    pub id: CaseTypeId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = case_types)]
pub struct NewCaseType<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = agents)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    /// E.164.
    pub phone: String,
    /// `en`, `hi` or `mr`.
    pub language: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = agents)]
pub struct NewAgent<'a> {
    pub id: AgentId,
    pub name: &'a str,
    pub phone: &'a str,
    pub language: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

impl Corporation {
    pub fn insert(connection: &mut DbConnection, new: &NewCorporation<'_>) -> QueryResult<Corporation> {
        diesel::insert_into(corporations::table)
            .values(new)
            .returning(Corporation::as_returning())
            .get_result(connection)
    }

    pub fn count(connection: &mut DbConnection) -> QueryResult<i64> {
        corporations::table.count().get_result(connection)
    }
}

impl Facility {
    pub fn insert(connection: &mut DbConnection, new: &NewFacility<'_>) -> QueryResult<Facility> {
        diesel::insert_into(facilities::table).values(new).returning(Facility::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: FacilityId) -> QueryResult<Facility> {
        facilities::table.find(id).select(Facility::as_select()).first(connection)
    }

    /// Finds a facility by its short code, ignoring letter case.
    pub fn find_by_code(connection: &mut DbConnection, code: &str) -> QueryResult<Option<Facility>> {
        facilities::table
            .filter(facilities::code.eq(code.to_ascii_uppercase()))
            .select(Facility::as_select())
            .first(connection)
            .optional()
    }

    /// The facilities an agent works at, ordered by code.
    pub fn of_agent(connection: &mut DbConnection, agent: AgentId) -> QueryResult<Vec<Facility>> {
        facilities::table
            .inner_join(agent_facilities::table)
            .filter(agent_facilities::agent_id.eq(agent))
            .order(facilities::code.asc())
            .select(Facility::as_select())
            .load(connection)
    }
}

impl CaseType {
    pub fn insert(connection: &mut DbConnection, new: &NewCaseType<'_>) -> QueryResult<CaseType> {
        diesel::insert_into(case_types::table).values(new).returning(CaseType::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: CaseTypeId) -> QueryResult<CaseType> {
        case_types::table.find(id).select(CaseType::as_select()).first(connection)
    }

    /// Finds a case type by the code agents type, ignoring letter case.
    pub fn find_by_code(connection: &mut DbConnection, code: &str) -> QueryResult<Option<CaseType>> {
        case_types::table
            .filter(case_types::code.eq(code.to_ascii_uppercase()))
            .select(CaseType::as_select())
            .first(connection)
            .optional()
    }

    pub fn all_codes(connection: &mut DbConnection) -> QueryResult<Vec<String>> {
        case_types::table.select(case_types::code).order(case_types::code.asc()).load(connection)
    }
}

impl Agent {
    pub fn insert(connection: &mut DbConnection, new: &NewAgent<'_>) -> QueryResult<Agent> {
        diesel::insert_into(agents::table).values(new).returning(Agent::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: AgentId) -> QueryResult<Option<Agent>> {
        agents::table.find(id).select(Agent::as_select()).first(connection).optional()
    }

    /// Finds the agent registered with an E.164 phone number.
    pub fn find_by_phone(connection: &mut DbConnection, phone: &str) -> QueryResult<Option<Agent>> {
        agents::table.filter(agents::phone.eq(phone)).select(Agent::as_select()).first(connection).optional()
    }

    pub fn assign_facility(connection: &mut DbConnection, agent: AgentId, facility: FacilityId) -> QueryResult<usize> {
        diesel::insert_into(agent_facilities::table)
            .values((agent_facilities::agent_id.eq(agent), agent_facilities::facility_id.eq(facility)))
            .execute(connection)
    }
}
