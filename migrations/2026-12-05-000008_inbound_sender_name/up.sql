-- The WhatsApp profile name that came with a message. Stored with the
-- message so a reply made after a restart still names the new client.
ALTER TABLE inbound_messages ADD COLUMN sender_name TEXT;
