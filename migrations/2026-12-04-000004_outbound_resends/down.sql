-- Drops the record of dashboard resends.
DROP INDEX outbound_resends_by_message;
DROP TABLE outbound_resends;
