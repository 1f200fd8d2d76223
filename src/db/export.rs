//! Queries behind the dashboard's CSV exports that the list pages do not
//! need.

use std::collections::HashMap;

use diesel::prelude::*;

use super::ids::TaskId;
use super::schema::tasks;
use super::DbConnection;

/// Returns the beneficiary phone (E.164) of each of the given tasks. The
/// caller has already limited the ids to its scope.
pub fn task_phones(connection: &mut DbConnection, ids: &[TaskId]) -> QueryResult<HashMap<TaskId, String>> {
    let pairs: Vec<(TaskId, String)> =
        tasks::table.filter(tasks::id.eq_any(ids)).select((tasks::id, tasks::beneficiary_phone)).load(connection)?;
    Ok(pairs.into_iter().collect())
}
