-- Bearer tokens of the officer JSON API (/api/v1/). `token_hash` is the
-- SHA-256 (hex) of the random token the client holds, so a copy of this
-- table cannot be used to call the API. A token stops working at
-- `expires_at`, when it is revoked (its row deleted), when its user is
-- deactivated, or when the user's password changes after `created_at`.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX api_tokens_by_staff ON api_tokens (staff_id);
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);
