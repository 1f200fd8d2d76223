ALTER TABLE inbound_messages DROP COLUMN sender_name;
