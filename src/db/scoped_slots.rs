//! Queries behind the dashboard's slot pages. Like [`super::scoped`],
//! every function takes the caller's [`Scope`]: a slot and its series
//! belong to the corporation of their facility.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ids::{FacilityId, SlotId};
use super::organisation::{CaseType, Facility};
use super::schema::{case_types, facilities, slot_series, slots, tasks};
use super::slots::{Slot, SlotSeries};
use super::staff::Scope;
use super::tasks::Task;
use super::DbConnection;

/// Lists the facilities in scope, ordered by code.
pub fn facilities(connection: &mut DbConnection, scope: &Scope) -> QueryResult<Vec<Facility>> {
    let mut query = facilities::table.order(facilities::code.asc()).into_boxed();
    if let Scope::Corporations(ids) = scope {
        query = query.filter(facilities::corporation_id.eq_any(ids.clone()));
    }
    query.select(Facility::as_select()).load(connection)
}

/// Finds a facility in scope.
pub fn find_facility(connection: &mut DbConnection, scope: &Scope, id: FacilityId) -> QueryResult<Option<Facility>> {
    let mut query = facilities::table.filter(facilities::id.eq(id)).into_boxed();
    if let Scope::Corporations(ids) = scope {
        query = query.filter(facilities::corporation_id.eq_any(ids.clone()));
    }
    query.select(Facility::as_select()).first(connection).optional()
}

/// One line of the slot list.
#[derive(Debug, Clone, Queryable)]
pub struct SlotRow {
    #[diesel(embed)]
    pub slot: Slot,
    pub case_code: String,
    /// `never`, `weekly` or `monthly`.
    pub recurrence: String,
}

/// Lists the slots of a facility in scope that start in `[from, until)`,
/// cancelled ones included, ordered by start. A facility out of scope
/// has no slots.
pub fn list_slots(
    connection: &mut DbConnection,
    scope: &Scope,
    facility: FacilityId,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<SlotRow>> {
    if find_facility(connection, scope, facility)?.is_none() {
        return Ok(Vec::new());
    }
    slots::table
        .inner_join(case_types::table)
        .inner_join(slot_series::table)
        .filter(slots::facility_id.eq(facility))
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(until))
        .order((slots::starts_at.asc(), slots::id.asc()))
        .select((Slot::as_select(), case_types::code, slot_series::recurrence))
        .load(connection)
}

/// A slot with its facility, case type, series and the tasks in it.
#[derive(Debug, Clone)]
pub struct SlotDetail {
    pub slot: Slot,
    pub facility: Facility,
    pub case_type: CaseType,
    pub series: SlotSeries,
    /// Every task whose current slot this is, oldest first.
    pub tasks: Vec<Task>,
}

/// Loads a slot in scope with its details, or `None` when there is no such
/// slot in scope.
pub fn find_slot(connection: &mut DbConnection, scope: &Scope, id: SlotId) -> QueryResult<Option<SlotDetail>> {
    let mut query = slots::table
        .inner_join(facilities::table)
        .inner_join(case_types::table)
        .inner_join(slot_series::table)
        .filter(slots::id.eq(id))
        .into_boxed();
    if let Scope::Corporations(ids) = scope {
        query = query.filter(facilities::corporation_id.eq_any(ids.clone()));
    }
    let found = query
        .select((Slot::as_select(), Facility::as_select(), CaseType::as_select(), SlotSeries::as_select()))
        .first::<(Slot, Facility, CaseType, SlotSeries)>(connection)
        .optional()?;
    let Some((slot, facility, case_type, series)) = found else {
        return Ok(None);
    };
    let tasks =
        tasks::table.filter(tasks::slot_id.eq(id)).order(tasks::id.asc()).select(Task::as_select()).load(connection)?;
    Ok(Some(SlotDetail { slot, facility, case_type, series, tasks }))
}
