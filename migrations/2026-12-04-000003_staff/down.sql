-- Drops the dashboard account tables in reverse dependency order.
DROP TABLE login_attempts;
DROP TABLE staff_sessions;
DROP TABLE staff_corporations;
DROP TABLE staff_users;
