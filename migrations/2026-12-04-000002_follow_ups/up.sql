-- Follow-ups of appointments, patient reminders, and slot cancellation.

-- One follow-up per task and appointment slot. The UNIQUE constraint is
-- the claim that keeps two scheduler runs (or two servers) from creating
-- or sending the same follow-up twice. `tracking_id` is numeric with a
-- Damm check digit and unique among open follow-ups.
CREATE TABLE follow_ups (
    id INTEGER PRIMARY KEY NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    tracking_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'answered', 'expired')),
    sent_at TIMESTAMP NOT NULL,
    reply TEXT CHECK (reply IN ('SC', 'RS')),
    reply_inbound_id INTEGER REFERENCES inbound_messages (id),
    replied_at TIMESTAMP,
    UNIQUE (task_id, slot_id)
);

CREATE UNIQUE INDEX follow_ups_open_tracking_id ON follow_ups (tracking_id) WHERE status = 'open';
CREATE INDEX follow_ups_by_tracking_id ON follow_ups (tracking_id, id);
CREATE INDEX follow_ups_by_status_and_sent ON follow_ups (status, sent_at);

-- Day-before reminders to patients; the UNIQUE constraint is the claim, as
-- for follow-ups.
CREATE TABLE reminders (
    id INTEGER PRIMARY KEY NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    outbound_message_id INTEGER REFERENCES outbound_messages (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (task_id, slot_id)
);

CREATE INDEX slots_by_start ON slots (starts_at);
CREATE INDEX tasks_by_status ON tasks (status, slot_id);
