//! Chat between a client and the helper who took their request.
