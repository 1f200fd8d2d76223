-- Removes the requested facility of tasks.
ALTER TABLE tasks DROP COLUMN requested_facility_id;
