-- The incarnation (Kafka's topic id) of each topic the relay has published to. A topic deleted and made
-- again -- a broker restarted without its log, as Tansu's memory storage is on every start -- gets a new
-- id, whatever partitions it has and offsets it gives out: everything published to the old one is lost,
-- and the relay publishes it again (shared/outbox.py, OutboxRelay.requeue_lost).
CREATE TABLE outbox_topics (
    topic     text PRIMARY KEY,
    topic_id  text NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now()
);
