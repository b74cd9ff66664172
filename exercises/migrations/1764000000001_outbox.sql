-- Milestone 2: the transactional outbox. An event is a row written in the same transaction
-- as the change it describes; a relay publishes committed rows to RabbitMQ and marks them.

-- Up Migration
-- #region m2: per-item sequence numbers and the outbox table with the index its claim query needs
-- TODO(m2): the outbox table (milestones/02-outbox/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m2: undo the outbox migration
-- TODO(m2): undo the up migration.
-- #endregion
