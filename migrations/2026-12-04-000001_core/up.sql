-- Core booking data: organisation, people, slots, tasks and the message
-- stores. Times are UTC timestamps; business dates are interpreted in the
-- configured time zone by the application. Only types and constraints that
-- SQLite and PostgreSQL both accept are used here.

CREATE TABLE corporations (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL DEFAULT '',
    area TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

-- A health post, UPHC or hospital. `code` is the short upper-case code that
-- agents may append to a booking SMS; `address` is what patients receive.
CREATE TABLE facilities (
    id INTEGER PRIMARY KEY NOT NULL,
    corporation_id INTEGER NOT NULL REFERENCES corporations (id),
    name TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- `code` is what agents type (ANC, DS, IM), stored upper-case.
CREATE TABLE case_types (
    id INTEGER PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

-- Field agents. `id` is the number an agent types at the start of a booking
-- SMS, so it is assigned by the NGO rather than generated. `phone` is E.164.
CREATE TABLE agents (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'hi', 'mr')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE agent_facilities (
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, facility_id)
);

-- Patients, keyed by their normalised phone. `language` stays NULL until
-- someone records it; SMS then go out in the booking agent's language.
CREATE TABLE beneficiaries (
    id INTEGER PRIMARY KEY NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    language TEXT CHECK (language IN ('en', 'hi', 'mr')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The "parent slot": a doctor's session that may recur. It owns its slots,
-- so the whole series can be edited or cancelled. `start_time` is local time
-- in the configured zone. A series ends at `end_date` or after `occurrences`
-- slots, whichever is set; a series with recurrence 'never' has one slot.
CREATE TABLE slot_series (
    id INTEGER PRIMARY KEY NOT NULL,
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    case_type_id INTEGER NOT NULL REFERENCES case_types (id),
    first_date DATE NOT NULL,
    start_time TIME NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    recurrence TEXT NOT NULL CHECK (recurrence IN ('never', 'weekly', 'monthly')),
    end_date DATE,
    occurrences INTEGER CHECK (occurrences > 0),
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

-- One bookable session. The CHECK keeps `booked` within `capacity` even if
-- application code were wrong; bookings take a place with a conditional
-- UPDATE so concurrent bookings never overfill a slot.
CREATE TABLE slots (
    id INTEGER PRIMARY KEY NOT NULL,
    series_id INTEGER NOT NULL REFERENCES slot_series (id),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    case_type_id INTEGER NOT NULL REFERENCES case_types (id),
    starts_at TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    booked INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (series_id, starts_at)
);

CREATE INDEX slots_by_case_type_and_start ON slots (case_type_id, starts_at);

-- Every message received on any channel, stored before anything else
-- happens to it. `status` is 'received' until an agent actor has handled
-- it, then 'processed'; repeated deliveries are kept as 'duplicate' with a
-- link to the first copy. `agent_id` is the routing hint found on arrival
-- (the id typed in the text, or the agent owning the sender's phone).
CREATE TABLE inbound_messages (
    id INTEGER PRIMARY KEY NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    provider_message_id TEXT,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('received', 'processed', 'duplicate')),
    outcome TEXT,
    agent_id INTEGER,
    duplicate_of INTEGER REFERENCES inbound_messages (id),
    processed_at TIMESTAMP
);

CREATE INDEX inbound_by_provider_id ON inbound_messages (channel, provider_message_id);
CREATE INDEX inbound_by_sender_and_time ON inbound_messages (sender, received_at);
CREATE INDEX inbound_by_status ON inbound_messages (status, id);

-- An appointment booked for a beneficiary. `status` follows the task
-- lifecycle; every change is also recorded in task_transitions.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY NOT NULL,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    case_type_id INTEGER NOT NULL REFERENCES case_types (id),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    slot_id INTEGER NOT NULL REFERENCES slots (id),
    beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries (id),
    beneficiary_name TEXT NOT NULL,
    beneficiary_phone TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('booked', 'follow_up_sent', 'completed', 'escalated', 'cancelled')),
    reschedule_count INTEGER NOT NULL DEFAULT 0,
    inbound_message_id INTEGER REFERENCES inbound_messages (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX tasks_by_slot ON tasks (slot_id);
CREATE INDEX tasks_by_agent ON tasks (agent_id);

-- The task history: who changed the status, when and why. `from_status` is
-- NULL for the transition that created the task.
CREATE TABLE task_transitions (
    id INTEGER PRIMARY KEY NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (actor IN ('agent_sms', 'scheduler', 'officer', 'system')),
    cause TEXT NOT NULL,
    inbound_message_id INTEGER REFERENCES inbound_messages (id),
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX task_transitions_by_task ON task_transitions (task_id, id);

-- The durable outbox. The outbox actor claims 'queued' rows whose
-- `next_attempt_at` has passed, marks them 'sending', and records the
-- provider's answer. `template_id` names the message catalogue entry, which
-- is also the DLT template the text was rendered from.
CREATE TABLE outbound_messages (
    id INTEGER PRIMARY KEY NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    template_id TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'delivered')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    provider_message_id TEXT,
    last_error TEXT,
    task_id INTEGER REFERENCES tasks (id),
    inbound_message_id INTEGER REFERENCES inbound_messages (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX outbound_by_status_and_due ON outbound_messages (status, next_attempt_at);
CREATE INDEX outbound_by_task ON outbound_messages (task_id);

-- A message that could not be handled automatically, waiting for an
-- officer. `reason` is a stable code; `detail` is the text officers read.
CREATE TABLE flagged_messages (
    id INTEGER PRIMARY KEY NOT NULL,
    inbound_message_id INTEGER REFERENCES inbound_messages (id),
    agent_id INTEGER REFERENCES agents (id),
    task_id INTEGER REFERENCES tasks (id),
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
    resolved_by TEXT,
    resolution_note TEXT,
    resolved_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX flagged_by_status ON flagged_messages (status, id);
