-- Drops the API token table and, with it, every issued token.
DROP TABLE api_tokens;
