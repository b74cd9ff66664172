-- The naive change milestone 5 replaces, run by the naive-alter chaos scenario on a table of a
-- million bids while bidders bid. Changing a column's type rewrites every row under an ACCESS
-- EXCLUSIVE lock: nothing reads or writes bids until it is done. squawk flags it
-- (changing-column-type, and no lock_timeout or statement_timeout before it); left unignored on purpose.
ALTER TABLE bids ALTER COLUMN user_id TYPE text;
