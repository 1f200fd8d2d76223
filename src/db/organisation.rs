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

/// New values of a corporation's editable columns.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = corporations)]
pub struct CorporationChanges<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub area: &'a str,
}

/// New values of a facility's editable columns.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = facilities)]
pub struct FacilityChanges<'a> {
    pub corporation_id: CorporationId,
    pub name: &'a str,
    /// Upper-case, like every stored code.
    pub code: &'a str,
    pub address: &'a str,
}

/// New values of a case type's editable columns.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = case_types)]
pub struct CaseTypeChanges<'a> {
    /// Upper-case, like every stored code.
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
}

/// New values of an agent's editable columns. The id is what the agent
/// types, so it never changes.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = agents)]
pub struct AgentChanges<'a> {
    pub name: &'a str,
    /// E.164.
    pub phone: &'a str,
    pub language: &'a str,
    pub active: bool,
}

impl Corporation {
    /// Lists every corporation, ordered by name.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<Corporation>> {
        corporations::table.order(corporations::name.asc()).select(Corporation::as_select()).load(connection)
    }

    pub fn find(connection: &mut DbConnection, id: CorporationId) -> QueryResult<Option<Corporation>> {
        corporations::table.find(id).select(Corporation::as_select()).first(connection).optional()
    }

    /// Finds a corporation by its exact name.
    pub fn find_by_name(connection: &mut DbConnection, name: &str) -> QueryResult<Option<Corporation>> {
        corporations::table
            .filter(corporations::name.eq(name))
            .select(Corporation::as_select())
            .first(connection)
            .optional()
    }

    /// Returns how many rows changed (0 when there is no such corporation).
    pub fn update(
        connection: &mut DbConnection,
        id: CorporationId,
        changes: &CorporationChanges<'_>,
    ) -> QueryResult<usize> {
        diesel::update(corporations::table.find(id)).set(changes).execute(connection)
    }
}

impl Facility {
    /// Lists every facility, ordered by code.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<Facility>> {
        facilities::table.order(facilities::code.asc()).select(Facility::as_select()).load(connection)
    }

    /// Finds a facility by id, or `None` when there is none.
    pub fn find_optional(connection: &mut DbConnection, id: FacilityId) -> QueryResult<Option<Facility>> {
        facilities::table.find(id).select(Facility::as_select()).first(connection).optional()
    }

    /// Returns how many rows changed (0 when there is no such facility).
    pub fn update(connection: &mut DbConnection, id: FacilityId, changes: &FacilityChanges<'_>) -> QueryResult<usize> {
        diesel::update(facilities::table.find(id)).set(changes).execute(connection)
    }
}

impl CaseType {
    /// Lists every case type, ordered by code.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<CaseType>> {
        case_types::table.order(case_types::code.asc()).select(CaseType::as_select()).load(connection)
    }

    /// Finds a case type by id, or `None` when there is none.
    pub fn find_optional(connection: &mut DbConnection, id: CaseTypeId) -> QueryResult<Option<CaseType>> {
        case_types::table.find(id).select(CaseType::as_select()).first(connection).optional()
    }

    /// Returns how many rows changed (0 when there is no such case type).
    pub fn update(connection: &mut DbConnection, id: CaseTypeId, changes: &CaseTypeChanges<'_>) -> QueryResult<usize> {
        diesel::update(case_types::table.find(id)).set(changes).execute(connection)
    }
}

impl Agent {
    /// Lists every agent, ordered by id.
    pub fn all(connection: &mut DbConnection) -> QueryResult<Vec<Agent>> {
        agents::table.order(agents::id.asc()).select(Agent::as_select()).load(connection)
    }

    /// Returns how many rows changed (0 when there is no such agent).
    pub fn update(connection: &mut DbConnection, id: AgentId, changes: &AgentChanges<'_>) -> QueryResult<usize> {
        diesel::update(agents::table.find(id)).set(changes).execute(connection)
    }

    /// Replaces the facilities an agent works at with `facilities`.
    pub fn set_facilities(connection: &mut DbConnection, agent: AgentId, facilities: &[FacilityId]) -> QueryResult<()> {
        diesel::delete(agent_facilities::table.filter(agent_facilities::agent_id.eq(agent))).execute(connection)?;
        for facility in facilities {
            Self::assign_facility(connection, agent, *facility)?;
        }
        Ok(())
    }

    /// Lists the (agent, facility) assignments of the given agents.
    pub fn assignments(connection: &mut DbConnection, agents: &[AgentId]) -> QueryResult<Vec<(AgentId, FacilityId)>> {
        agent_facilities::table
            .filter(agent_facilities::agent_id.eq_any(agents))
            .order((agent_facilities::agent_id.asc(), agent_facilities::facility_id.asc()))
            .select((agent_facilities::agent_id, agent_facilities::facility_id))
            .load(connection)
    }
}
