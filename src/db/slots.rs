//! Slot series and the bookable slots they own.

use chrono::{Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::ids::{CaseTypeId, FacilityId, SlotId, SlotSeriesId};
use super::schema::{slot_series, slots};
use super::DbConnection;

/// The repetition rule of a slot series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    Never,
    Weekly,
    Monthly,
}

impl Recurrence {
    pub fn as_str(self) -> &'static str {
        match self {
            Recurrence::Never => "never",
            Recurrence::Weekly => "weekly",
            Recurrence::Monthly => "monthly",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "never" => Some(Recurrence::Never),
            "weekly" => Some(Recurrence::Weekly),
            "monthly" => Some(Recurrence::Monthly),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = slot_series)]
pub struct SlotSeries {
    pub id: SlotSeriesId,
    pub facility_id: FacilityId,
    pub case_type_id: CaseTypeId,
    pub first_date: NaiveDate,
    /// Local time in the configured zone.
    pub start_time: NaiveTime,
    pub capacity: i32,
    pub recurrence: String,
    pub end_date: Option<NaiveDate>,
    pub occurrences: Option<i32>,
    pub cancelled: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = slot_series)]
pub struct NewSlotSeries<'a> {
    pub facility_id: FacilityId,
    pub case_type_id: CaseTypeId,
    pub first_date: NaiveDate,
    pub start_time: NaiveTime,
    pub capacity: i32,
    pub recurrence: &'a str,
    pub end_date: Option<NaiveDate>,
    pub occurrences: Option<i32>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = slots)]
pub struct Slot {
    pub id: SlotId,
    pub series_id: SlotSeriesId,
    pub facility_id: FacilityId,
    pub case_type_id: CaseTypeId,
    /// UTC.
    pub starts_at: NaiveDateTime,
    pub capacity: i32,
    pub booked: i32,
    pub cancelled: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = slots)]
struct NewSlot {
    series_id: SlotSeriesId,
    facility_id: FacilityId,
    case_type_id: CaseTypeId,
    starts_at: NaiveDateTime,
    capacity: i32,
    booked: i32,
    cancelled: bool,
    created_at: NaiveDateTime,
}

impl SlotSeries {
    pub fn insert(connection: &mut DbConnection, new: &NewSlotSeries<'_>) -> QueryResult<SlotSeries> {
        diesel::insert_into(slot_series::table).values(new).returning(SlotSeries::as_returning()).get_result(connection)
    }

    pub fn find(connection: &mut DbConnection, id: SlotSeriesId) -> QueryResult<SlotSeries> {
        slot_series::table.find(id).select(SlotSeries::as_select()).first(connection)
    }

    /// Stops the series after `last_date`; with no date left it is cancelled.
    pub fn end_after(
        connection: &mut DbConnection,
        id: SlotSeriesId,
        last_date: Option<NaiveDate>,
    ) -> QueryResult<usize> {
        match last_date {
            Some(date) => {
                diesel::update(slot_series::table.find(id)).set(slot_series::end_date.eq(date)).execute(connection)
            }
            None => {
                diesel::update(slot_series::table.find(id)).set(slot_series::cancelled.eq(true)).execute(connection)
            }
        }
    }

    /// Changes the start time and capacity used for slots created from now on.
    pub fn update_template(
        connection: &mut DbConnection,
        id: SlotSeriesId,
        start_time: NaiveTime,
        capacity: i32,
    ) -> QueryResult<usize> {
        diesel::update(slot_series::table.find(id))
            .set((slot_series::start_time.eq(start_time), slot_series::capacity.eq(capacity)))
            .execute(connection)
    }

    /// The local dates of this series' slots, up to and including `until`.
    pub fn dates_until(&self, until: NaiveDate) -> Vec<NaiveDate> {
        let recurrence = Recurrence::parse(&self.recurrence).unwrap_or(Recurrence::Never);
        let limit = usize::try_from(self.occurrences.unwrap_or(i32::MAX)).unwrap_or(usize::MAX);
        let last = match self.end_date {
            Some(end) if end < until => end,
            _ => until,
        };
        let mut dates = Vec::new();
        let mut index: u32 = 0;
        loop {
            let date = match recurrence {
                Recurrence::Never if index > 0 => break,
                Recurrence::Never => Some(self.first_date),
                Recurrence::Weekly => self.first_date.checked_add_days(chrono::Days::new(7 * u64::from(index))),
                // A monthly series on the 31st falls back to the month's
                // last day rather than skipping short months.
                Recurrence::Monthly => self.first_date.checked_add_months(Months::new(index)),
            };
            let Some(date) = date else { break };
            if date > last || dates.len() >= limit {
                break;
            }
            dates.push(date);
            index += 1;
        }
        dates
    }

    /// Creates the slots of this series up to `until` that do not exist yet,
    /// and returns how many were created. Safe to run repeatedly.
    pub fn materialise(
        &self,
        connection: &mut DbConnection,
        zone: Tz,
        until: NaiveDate,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        if self.cancelled {
            return Ok(0);
        }
        let existing: Vec<NaiveDateTime> =
            slots::table.filter(slots::series_id.eq(self.id)).select(slots::starts_at).load(connection)?;
        let mut created = 0;
        for date in self.dates_until(until) {
            let Some(starts_at) = local_to_utc(zone, date, self.start_time) else {
                tracing::warn!(series_id = %self.id, %date, "slot time does not exist in the time zone; skipped");
                continue;
            };
            if existing.contains(&starts_at) {
                continue;
            }
            diesel::insert_into(slots::table)
                .values(NewSlot {
                    series_id: self.id,
                    facility_id: self.facility_id,
                    case_type_id: self.case_type_id,
                    starts_at,
                    capacity: self.capacity,
                    booked: 0,
                    cancelled: false,
                    created_at: now,
                })
                .execute(connection)?;
            created += 1;
        }
        Ok(created)
    }
}

/// Converts a local date and time in `zone` to a UTC timestamp. Returns
/// `None` for a local time that the zone skips.
pub fn local_to_utc(zone: Tz, date: NaiveDate, time: NaiveTime) -> Option<NaiveDateTime> {
    zone.from_local_datetime(&date.and_time(time)).earliest().map(|instant| instant.naive_utc())
}

impl Slot {
    pub fn find(connection: &mut DbConnection, id: SlotId) -> QueryResult<Slot> {
        slots::table.find(id).select(Slot::as_select()).first(connection)
    }

    /// Returns up to `limit` slots with room for `case_type` at any of
    /// `facilities`, starting at or after `not_before`, earliest first.
    pub fn free_candidates(
        connection: &mut DbConnection,
        case_type: CaseTypeId,
        facilities: &[FacilityId],
        not_before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<Slot>> {
        slots::table
            .filter(slots::case_type_id.eq(case_type))
            .filter(slots::facility_id.eq_any(facilities))
            .filter(slots::starts_at.ge(not_before))
            .filter(slots::cancelled.eq(false))
            .filter(slots::booked.lt(slots::capacity))
            .order((slots::starts_at.asc(), slots::id.asc()))
            .limit(limit)
            .select(Slot::as_select())
            .load(connection)
    }

    /// Takes one place in a slot if it still has room. The condition in the
    /// UPDATE makes this safe against concurrent bookings on any backend.
    pub fn take_place(connection: &mut DbConnection, id: SlotId) -> QueryResult<bool> {
        let updated = diesel::update(
            slots::table.find(id).filter(slots::booked.lt(slots::capacity)).filter(slots::cancelled.eq(false)),
        )
        .set(slots::booked.eq(slots::booked + 1))
        .execute(connection)?;
        Ok(updated == 1)
    }

    /// Slots starting in `[from, until)`, optionally at one facility,
    /// ordered by start.
    pub fn between(
        connection: &mut DbConnection,
        from: NaiveDateTime,
        until: NaiveDateTime,
        facility: Option<FacilityId>,
    ) -> QueryResult<Vec<Slot>> {
        let mut query = slots::table
            .filter(slots::starts_at.ge(from))
            .filter(slots::starts_at.lt(until))
            .order((slots::starts_at.asc(), slots::id.asc()))
            .select(Slot::as_select())
            .into_boxed();
        if let Some(facility) = facility {
            query = query.filter(slots::facility_id.eq(facility));
        }
        query.load(connection)
    }

    /// This slot and the later slots of its series that are not cancelled.
    pub fn rest_of_series(connection: &mut DbConnection, slot: &Slot) -> QueryResult<Vec<Slot>> {
        slots::table
            .filter(slots::series_id.eq(slot.series_id))
            .filter(slots::starts_at.ge(slot.starts_at))
            .filter(slots::cancelled.eq(false))
            .order(slots::starts_at.asc())
            .select(Slot::as_select())
            .load(connection)
    }

    pub fn mark_cancelled(connection: &mut DbConnection, id: SlotId) -> QueryResult<bool> {
        let updated = diesel::update(slots::table.find(id).filter(slots::cancelled.eq(false)))
            .set(slots::cancelled.eq(true))
            .execute(connection)?;
        Ok(updated == 1)
    }

    /// Changes capacity and start; the capacity CHECK rejects a capacity
    /// below the places already booked.
    pub fn update(
        connection: &mut DbConnection,
        id: SlotId,
        capacity: i32,
        starts_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(slots::table.find(id))
            .set((slots::capacity.eq(capacity), slots::starts_at.eq(starts_at)))
            .execute(connection)
    }

    /// Gives back one place, when a task leaves the slot.
    pub fn release_place(connection: &mut DbConnection, id: SlotId) -> QueryResult<bool> {
        let updated = diesel::update(slots::table.find(id).filter(slots::booked.gt(0)))
            .set(slots::booked.eq(slots::booked - 1))
            .execute(connection)?;
        Ok(updated == 1)
    }

    /// The start of this slot in `zone`.
    pub fn local_start(&self, zone: Tz) -> chrono::DateTime<Tz> {
        zone.from_utc_datetime(&self.starts_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(recurrence: &str, end_date: Option<NaiveDate>, occurrences: Option<i32>) -> SlotSeries {
        SlotSeries {
            id: SlotSeriesId(1),
            facility_id: FacilityId(1),
            case_type_id: CaseTypeId(1),
            first_date: NaiveDate::from_ymd_opt(2026, 1, 31).expect("valid date"),
            start_time: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            capacity: 5,
            recurrence: recurrence.into(),
            end_date,
            occurrences,
            cancelled: false,
            created_at: NaiveDateTime::default(),
        }
    }

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
    }

    #[test]
    fn weekly_series_stops_at_end_date() {
        let dates = series("weekly", Some(date(2026, 2, 14)), None).dates_until(date(2026, 12, 31));
        assert_eq!(dates, vec![date(2026, 1, 31), date(2026, 2, 7), date(2026, 2, 14)]);
    }

    #[test]
    fn monthly_series_clamps_short_months() {
        let dates = series("monthly", None, Some(3)).dates_until(date(2026, 12, 31));
        assert_eq!(dates, vec![date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]);
    }

    #[test]
    fn one_off_series_has_one_date() {
        assert_eq!(series("never", None, None).dates_until(date(2026, 12, 31)), vec![date(2026, 1, 31)]);
        assert!(series("never", None, None).dates_until(date(2026, 1, 30)).is_empty());
    }

    #[test]
    fn kolkata_morning_is_previous_utc_evening() {
        let utc =
            local_to_utc(chrono_tz::Asia::Kolkata, date(2026, 12, 5), NaiveTime::from_hms_opt(3, 0, 0).expect("time"));
        assert_eq!(utc, Some(date(2026, 12, 4).and_hms_opt(21, 30, 0).expect("time")));
    }
}
