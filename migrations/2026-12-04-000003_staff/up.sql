-- Dashboard accounts: staff users, the corporations officers may see,
-- server-side sessions and failed sign-ins for rate limiting.

-- People who sign in to the dashboard. `email` is stored lower-case and is
-- the sign-in name. `password_hash` is an Argon2id PHC string. An admin sees
-- every corporation; an officer only those in staff_corporations.
CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    designation TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('admin', 'officer')),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    password_changed_at TIMESTAMP NOT NULL
);

CREATE TABLE staff_corporations (
    staff_id INTEGER NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    corporation_id INTEGER NOT NULL REFERENCES corporations (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, corporation_id)
);

-- One row per signed-in browser. `id` is the SHA-256 (hex) of the random
-- token in the session cookie, so a copy of this table cannot be used to
-- sign in. A session ends at `expires_at` (absolute lifetime) or when
-- `last_seen_at` is older than the idle timeout, both set in [dashboard].
CREATE TABLE staff_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);

CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_by_expiry ON staff_sessions (expires_at);

-- Failed sign-ins within the rate-limit window; older rows are deleted.
-- `account_key` is the SHA-256 (hex) of the lower-cased email that was
-- typed, so a password typed into the email field is not stored in clear.
-- The table is shared by every server on the database, so the limits hold
-- across nodes and restarts.
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY NOT NULL,
    account_key TEXT NOT NULL,
    client_address TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL
);

CREATE INDEX login_attempts_by_account ON login_attempts (account_key, attempted_at);
CREATE INDEX login_attempts_by_address ON login_attempts (client_address, attempted_at);
CREATE INDEX login_attempts_by_time ON login_attempts (attempted_at);
