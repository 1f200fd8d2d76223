-- Drops the core tables in reverse dependency order.
DROP TABLE flagged_messages;
DROP TABLE outbound_messages;
DROP TABLE task_transitions;
DROP TABLE tasks;
DROP TABLE inbound_messages;
DROP TABLE slots;
DROP TABLE slot_series;
DROP TABLE beneficiaries;
DROP TABLE agent_facilities;
DROP TABLE agents;
DROP TABLE case_types;
DROP TABLE facilities;
DROP TABLE corporations;
