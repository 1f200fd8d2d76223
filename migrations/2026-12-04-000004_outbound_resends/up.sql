-- Resends of failed outbound messages from the dashboard. Resending puts
-- the message back in the queue with its attempt count reset to 0, so
-- the attempts and the provider error it had are kept here, with the
-- email of the staff user who resent it.
CREATE TABLE outbound_resends (
    id INTEGER PRIMARY KEY NOT NULL,
    outbound_message_id INTEGER NOT NULL REFERENCES outbound_messages (id),
    resent_by TEXT NOT NULL,
    previous_attempts INTEGER NOT NULL,
    previous_error TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX outbound_resends_by_message ON outbound_resends (outbound_message_id, id);
