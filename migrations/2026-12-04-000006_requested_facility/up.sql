-- The facility an agent named in the booking SMS, if any. A task moved to
-- another slot (RS reply, cancelled slot) stays at this facility. It has no
-- REFERENCES clause so that down.sql can drop it on SQLite.
ALTER TABLE tasks ADD COLUMN requested_facility_id INTEGER;
