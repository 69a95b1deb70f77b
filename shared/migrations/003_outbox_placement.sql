-- Where the broker put each published event (partition and offset, from its acknowledgement), so the
-- relay can tell when the broker no longer has what it acknowledged (a broker restarted without its
-- log, a partition lost) and publish those events again by itself.
ALTER TABLE outbox ADD COLUMN kafka_partition integer, ADD COLUMN kafka_offset bigint;
CREATE INDEX outbox_placed ON outbox (topic, kafka_partition, kafka_offset) WHERE published_at IS NOT NULL;
