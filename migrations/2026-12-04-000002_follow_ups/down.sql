-- Drops the follow-up tables and indexes.
DROP INDEX tasks_by_status;
DROP INDEX slots_by_start;
DROP TABLE reminders;
DROP TABLE follow_ups;
