//! Reading an import file into rows and storing them. Every row is
//! checked with the rules of the matching admin form. All rows are stored
//! in one write transaction, which is rolled back when any row has a
//! problem, so a file is imported whole or not at all.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone as _};

use crate::booking::BookingContext;
use crate::db::organisation::{CaseType, Corporation, Facility};
use crate::db::slots::{NewSlotSeries, SlotSeries};
use crate::db::{write_transaction, DbConnection};
use crate::web::dashboard::form::Errors;
use crate::web::dashboard::manage::{agents, facilities};
use crate::web::dashboard::slots::SeriesValues;

/// Maximum number of data rows in one file.
pub const MAX_ROWS: usize = 5000;

/// Content of an import file: the entity its rows describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Facilities,
    Agents,
    SlotSeries,
}

/// A column of an import file.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    /// Help text on what to write in the column.
    pub description: &'static str,
}

const fn column(name: &'static str, required: bool, description: &'static str) -> Column {
    Column { name, required, description }
}

const FACILITY_COLUMNS: [Column; 4] = [
    column("corporation", true, "Name of an existing corporation, exactly as on the corporations page."),
    column("name", true, "Name of the facility, such as Wagle HP."),
    column("code", true, "Short code agents may type, such as WGL: a letter, then letters or digits. Unique."),
    column("address", true, "Address sent to patients."),
];

const AGENT_COLUMNS: [Column; 6] = [
    column("id", true, "The number the agent types at the start of a booking SMS. Unique."),
    column("name", true, "Name of the agent."),
    column("phone", true, "Mobile number, such as 9876543210 or +919876543210. Unique."),
    column("language", true, "Language of the agent's SMS: en, hi or mr (or English, Hindi, Marathi)."),
    column("active", false, "yes or no; empty means yes."),
    column("facilities", false, "Facility codes separated by spaces or semicolons, such as WGL KSN."),
];

const SERIES_COLUMNS: [Column; 8] = [
    column("facility", true, "Code of an existing facility."),
    column("case_type", true, "Code of an existing case type, such as ANC."),
    column("first_date", true, "Date of the first slot, dd-mm-yyyy or yyyy-mm-dd; today or later."),
    column("start_time", true, "Local start time, HH:MM."),
    column("capacity", true, "Places per slot, a whole number."),
    column("recurrence", true, "never, weekly or monthly."),
    column("end_date", false, "For weekly or monthly: the last date. Give this or occurrences."),
    column("occurrences", false, "For weekly or monthly: the number of slots."),
];

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Facilities, Kind::Agents, Kind::SlotSeries];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "facilities" => Some(Kind::Facilities),
            "agents" => Some(Kind::Agents),
            "slot_series" => Some(Kind::SlotSeries),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Facilities => "facilities",
            Kind::Agents => "agents",
            Kind::SlotSeries => "slot_series",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Facilities => "Facilities",
            Kind::Agents => "Agents",
            Kind::SlotSeries => "Slot series",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Kind::Facilities => &FACILITY_COLUMNS,
            Kind::Agents => &AGENT_COLUMNS,
            Kind::SlotSeries => &SERIES_COLUMNS,
        }
    }
}

/// A problem with one cell, or with a whole row when `column` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line of the file where the row starts; the header is line 1.
    pub row: u64,
    pub column: String,
    pub value: String,
    /// Explanation of the problem and its fix.
    pub message: String,
}

/// One data row: its line and its cells by column name.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    cells: HashMap<&'static str, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

fn problem(row: u64, column: &str, value: &str, message: impl Into<String>) -> Problem {
    Problem { row, column: column.to_owned(), value: value.to_owned(), message: message.into() }
}

/// Reads a CSV text with a header row into rows of `kind`. Column names
/// are matched without regard to case and surrounding spaces, in any
/// order; blank lines are skipped.
pub fn read(kind: Kind, text: &str) -> Result<Vec<Row>, Vec<Problem>> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).has_headers(true).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => return Err(vec![problem(1, "", "", format!("The header row cannot be read: {error}."))]),
    };
    if headers.iter().all(str::is_empty) {
        return Err(vec![problem(1, "", "", "The file is empty. Its first row must name the columns.")]);
    }

    let expected = kind.columns();
    let mut problems = Vec::new();
    let mut positions: Vec<(usize, &'static str)> = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        let name = header.to_ascii_lowercase();
        match expected.iter().find(|column| column.name == name) {
            Some(column) if positions.iter().any(|(_, seen)| *seen == column.name) => {
                problems.push(problem(1, header, header, "This column appears twice; keep one."));
            }
            Some(column) => positions.push((index, column.name)),
            None => problems.push(problem(
                1,
                header,
                header,
                format!(
                    "Unknown column. The columns of {} are {}.",
                    kind.label().to_lowercase(),
                    expected.iter().map(|column| column.name).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
    for column in expected.iter().filter(|column| column.required) {
        if !positions.iter().any(|(_, name)| *name == column.name) {
            problems.push(problem(
                1,
                column.name,
                "",
                format!("The column {} is missing; add it to the header row.", column.name),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |position| line_at(text, position.byte()));
                problems.push(problem(line, "", "", format!("This row cannot be read: {error}.")));
                continue;
            }
        };
        let line = record.position().map_or(0, |position| line_at(text, position.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() > headers.len() {
            problems.push(problem(
                line,
                "",
                "",
                format!("This row has {} cells but the header has {}; remove the extra cells or quote values that contain commas.", record.len(), headers.len()),
            ));
            continue;
        }
        let cells =
            positions.iter().map(|(index, name)| (*name, record.get(*index).unwrap_or("").to_owned())).collect();
        rows.push(Row { line, cells });
        if rows.len() > MAX_ROWS {
            return Err(vec![problem(line, "", "", format!("The file has more than {MAX_ROWS} rows; split it."))]);
        }
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push(problem(1, "", "", "The file has a header but no rows to import."));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Returns the 1-based line on which the record at byte `offset` starts,
/// skipping the line ends before it. The csv crate's own line number
/// (csv 1.4) is one short for a record after a CRLF line end, so the line
/// is counted here from the byte offset instead.
fn line_at(text: &str, offset: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
    while bytes.get(start).is_some_and(|byte| matches!(byte, b'\r' | b'\n')) {
        start += 1;
    }
    1 + bytes[..start].iter().filter(|byte| **byte == b'\n').count() as u64
}

/// Failure of an import, which then stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} rows have problems", .0.len())]
    Rejected(Vec<Problem>),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Turns form errors of a row into problems, with the cell each is about.
fn row_problems(row: &Row, errors: &Errors, problems: &mut Vec<Problem>) {
    for (field, message) in errors.iter() {
        problems.push(problem(row.line, field, row.get(field), message));
    }
}

/// Notes a value that an earlier row of the file has already.
fn check_unique(
    seen: &mut HashMap<String, u64>,
    key: String,
    row: &Row,
    column: &'static str,
    problems: &mut Vec<Problem>,
) {
    match seen.get(&key) {
        Some(first) => problems.push(problem(
            row.line,
            column,
            row.get(column),
            format!("Row {first} has this {column} already; each must be unique."),
        )),
        None => {
            seen.insert(key, row.line);
        }
    }
}

/// Stores every row in one write transaction and returns how many were
/// stored. Any problem rolls the whole file back.
pub fn store(
    connection: &mut DbConnection,
    context: &BookingContext,
    kind: Kind,
    rows: &[Row],
    now: NaiveDateTime,
) -> Result<usize, ImportError> {
    write_transaction(connection, |connection| {
        let mut problems = Vec::new();
        match kind {
            Kind::Facilities => store_facilities(connection, rows, now, &mut problems)?,
            Kind::Agents => store_agents(connection, rows, now, &mut problems)?,
            Kind::SlotSeries => store_series(connection, context, rows, now, &mut problems)?,
        }
        if problems.is_empty() {
            Ok(rows.len())
        } else {
            Err(ImportError::Rejected(problems))
        }
    })
}

fn store_facilities(
    connection: &mut DbConnection,
    rows: &[Row],
    now: NaiveDateTime,
    problems: &mut Vec<Problem>,
) -> diesel::QueryResult<()> {
    let mut codes = HashMap::new();
    for row in rows {
        let found = problems.len();
        let mut errors = Errors::default();
        let corporation = match row.get("corporation") {
            "" => {
                errors.add("corporation", "Enter the name of the corporation the facility belongs to.");
                None
            }
            name => {
                let corporation = Corporation::find_by_name(connection, name)?;
                if corporation.is_none() {
                    errors.add(
                        "corporation",
                        "No corporation has this name; use a name from the corporations page, or add the corporation first.",
                    );
                }
                corporation
            }
        };
        let values = facilities::Values {
            corporation: corporation.map(|corporation| corporation.id.to_string()).unwrap_or_default(),
            name: row.get("name").to_owned(),
            code: row.get("code").to_owned(),
            address: row.get("address").to_owned(),
        };
        // The corporation's problem found above is kept: a field shows
        // only its first problem.
        let (value_errors, checked) = values.check();
        for (field, message) in value_errors.iter() {
            errors.add(field, message);
        }
        row_problems(row, &errors, problems);
        let Some(checked) = checked.filter(|_| errors.is_empty()) else { continue };
        check_unique(&mut codes, checked.code.clone(), row, "code", problems);
        if problems.len() == found {
            if let Some(Err(errors)) = facilities::save(connection, None, &checked, now)? {
                row_problems(row, &errors, problems);
            }
        }
    }
    Ok(())
}

fn parse_active(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "" | "yes" | "y" | "true" | "1" | "active" => Some(true),
        "no" | "n" | "false" | "0" | "inactive" => Some(false),
        _ => None,
    }
}

fn parse_language(text: &str) -> String {
    match text.to_ascii_lowercase().as_str() {
        "english" => "en".to_owned(),
        "hindi" => "hi".to_owned(),
        "marathi" => "mr".to_owned(),
        other => other.to_owned(),
    }
}

fn store_agents(
    connection: &mut DbConnection,
    rows: &[Row],
    now: NaiveDateTime,
    problems: &mut Vec<Problem>,
) -> diesel::QueryResult<()> {
    let mut ids = HashMap::new();
    let mut phones = HashMap::new();
    for row in rows {
        let found = problems.len();
        let active = parse_active(row.get("active"));
        if active.is_none() {
            problems.push(problem(row.line, "active", row.get("active"), "Write yes or no."));
        }
        let mut facility_ids = Vec::new();
        for code in row.get("facilities").split([' ', ';', ',', '|', '/']).filter(|code| !code.is_empty()) {
            match Facility::find_by_code(connection, code)? {
                Some(facility) => facility_ids.push(facility.id.to_string()),
                None => problems.push(problem(
                    row.line,
                    "facilities",
                    row.get("facilities"),
                    format!(
                        "Facility code {} is unknown; use codes from the facilities page.",
                        code.to_ascii_uppercase()
                    ),
                )),
            }
        }
        let values = agents::Values {
            id: row.get("id").to_owned(),
            name: row.get("name").to_owned(),
            phone: row.get("phone").to_owned(),
            language: parse_language(row.get("language")),
            active: active.unwrap_or(true),
            facilities: facility_ids,
        };
        let mut errors = Errors::default();
        let checked = values.check(&mut errors);
        row_problems(row, &errors, problems);
        let Some(checked) = checked else { continue };
        check_unique(&mut ids, checked.id.to_string(), row, "id", problems);
        check_unique(&mut phones, checked.phone.to_string(), row, "phone", problems);
        if problems.len() == found {
            if let Some(Err(errors)) = agents::save(connection, true, &checked, now)? {
                row_problems(row, &errors, problems);
            }
        }
    }
    Ok(())
}

fn store_series(
    connection: &mut DbConnection,
    context: &BookingContext,
    rows: &[Row],
    now: NaiveDateTime,
    problems: &mut Vec<Problem>,
) -> diesel::QueryResult<()> {
    let today = context.zone.from_utc_datetime(&now).date_naive();
    for row in rows {
        let found = problems.len();
        let facility = match row.get("facility") {
            "" => {
                problems.push(problem(row.line, "facility", "", "Enter the code of the facility."));
                None
            }
            code => {
                let facility = Facility::find_by_code(connection, code)?;
                if facility.is_none() {
                    problems.push(problem(
                        row.line,
                        "facility",
                        code,
                        "No facility has this code; use a code from the facilities page.",
                    ));
                }
                facility
            }
        };
        let case_type = match row.get("case_type") {
            "" => {
                problems.push(problem(row.line, "case_type", "", "Enter the code of the case type, such as ANC."));
                None
            }
            code => {
                let case_type = CaseType::find_by_code(connection, code)?;
                if case_type.is_none() {
                    problems.push(problem(
                        row.line,
                        "case_type",
                        code,
                        "No case type has this code; use a code from the case types page.",
                    ));
                }
                case_type
            }
        };
        let values = SeriesValues {
            facility: String::new(),
            case_type: String::new(),
            first_date: row.get("first_date").to_owned(),
            start_time: row.get("start_time").to_owned(),
            capacity: row.get("capacity").to_owned(),
            recurrence: row.get("recurrence").to_ascii_lowercase(),
            end_date: row.get("end_date").to_owned(),
            occurrences: row.get("occurrences").to_owned(),
        };
        let mut errors = Errors::default();
        let request = values.check(String::new(), String::new(), today, &mut errors);
        row_problems(row, &errors, problems);
        let (Some(request), Some(facility), Some(case_type)) = (request, facility, case_type) else { continue };
        if problems.len() != found {
            continue;
        }
        // NOTE: this repeats what appointments::slots::create_series does
        // (insert, then materialise up to the scheduler horizon), because
        // that function opens its own transaction and the import needs all
        // rows in one.
        let series = SlotSeries::insert(
            connection,
            &NewSlotSeries {
                facility_id: facility.id,
                case_type_id: case_type.id,
                first_date: request.first_date,
                start_time: request.start_time,
                capacity: request.capacity,
                recurrence: request.recurrence.as_str(),
                end_date: request.end_date,
                occurrences: request.occurrences,
                created_at: now,
            },
        )?;
        series.materialise(connection, context.zone, horizon(context, today, request.first_date), now)?;
    }
    Ok(())
}

/// Returns the last date up to which a new series gets its slots at once,
/// as `appointments::slots::create_series` computes it.
fn horizon(context: &BookingContext, today: NaiveDate, first_date: NaiveDate) -> NaiveDate {
    let days = u64::from(context.settings.scheduler.horizon_days);
    today.checked_add_days(Days::new(days)).unwrap_or(today).max(first_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_problems_name_the_column() {
        let problems = read(Kind::Facilities, "corporation,name,kode,address\nA,B,C,D\n").expect_err("bad header");

        assert!(problems.iter().any(|found| found.column == "kode" && found.message.starts_with("Unknown column")));
        assert!(problems.iter().any(|found| found.column == "code" && found.message.contains("missing")));
    }

    #[test]
    fn columns_match_by_name_in_any_order() {
        let text = "\u{FEFF}Name, CODE ,corporation,address\r\nWagle HP,wgl,Thane,\"Road 16, Wagle\"\r\n\r\nKisan Nagar,KSN,Thane,Road 1\r\n";

        let rows = read(Kind::Facilities, text).expect("valid file");

        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].get("code"), "wgl");
        assert_eq!(rows[0].get("address"), "Road 16, Wagle");
        assert_eq!(rows[1].line, 4, "the blank line still counts");
        assert_eq!(line_at("a\nb\n\nc", 2), 2);
        assert_eq!(line_at("a\r\nb\r\n\r\nc", 3), 2);
        assert_eq!(line_at("a\r\nb\r\n\r\nc", 4), 4);
    }

    #[test]
    fn extra_cells_and_empty_files_are_problems() {
        let extra = read(Kind::Facilities, "corporation,name,code,address\nA,B,C,D,E\n").expect_err("extra cell");
        let empty = read(Kind::Facilities, "").expect_err("empty file");
        let header_only = read(Kind::Facilities, "corporation,name,code,address\n").expect_err("no rows");

        assert_eq!(extra[0].row, 2);
        assert!(extra[0].message.contains("5 cells"));
        assert!(empty[0].message.contains("empty"));
        assert!(header_only[0].message.contains("no rows"));
    }

    #[test]
    fn active_and_language_spellings() {
        assert_eq!(parse_active(""), Some(true));
        assert_eq!(parse_active("No"), Some(false));
        assert_eq!(parse_active("maybe"), None);
        assert_eq!(parse_language("Hindi"), "hi");
        assert_eq!(parse_language("mr"), "mr");
    }
}
