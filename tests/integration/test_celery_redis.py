"""The Redis transport every service's Celery workers use (shared/celery_redis.py), on a real Redis.

The state a worker is in when it loses Redis with tasks running (acks late): messages delivered and not
acknowledged, the broker gone, and the transport detached by ``Connection.collect`` while the channel
is still open (its close was cut short by the dead socket). Celery then closes the connection, and a
task finishing later is acknowledged on the old channel.
"""
from __future__ import annotations

import logging
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from kombu.transport import redis as kombu_redis

from infra import servers
from shared import celery_redis
from shared.celery_app import make_celery
from shared.settings import ServiceSettings


@pytest.fixture
def redis():
    server = servers.LocalRedis().start()
    yield server
    server.kill()


def lose_redis_holding_a_message(conn: Connection, redis: servers.LocalRedis):
    """Returns the message, delivered and not acknowledged."""
    channel = conn.default_channel
    queue = Queue("tasks", Exchange("tasks", type="direct"), "tasks", channel=channel)
    queue.declare()
    conn.Producer(channel).publish({"task": "gửi thư"}, exchange=queue.exchange, routing_key="tasks", declare=[queue])
    message = queue.get(no_ack=False)
    assert message is not None and len(channel.qos._delivered) == 1
    redis.kill()
    conn._do_close_transport()  # what collect() ends with
    return message


def test_a_worker_that_loses_redis_holding_messages_closes_its_connection_and_carries_on(redis):
    app = make_celery("celery-redis-test", ServiceSettings(redis_url=redis.url, topic_prefix=f"t{uuid.uuid4().hex[:6]}."),
                      include=[])
    conn = app.connection_for_read()
    assert isinstance(conn.default_channel, celery_redis.Channel)
    errors = conn.connection_errors + conn.channel_errors  # what Celery hands to ack_log_error
    message = lose_redis_holding_a_message(conn, redis)
    conn.close()  # raised AttributeError with kombu's own transport: an "unrecoverable error" for Celery
    message.ack_log_error(logging.getLogger("test"), errors)  # a task finishing after the loss: logged, not raised
    assert not message.acknowledged  # it stays Redis's to deliver again
    # What Celery does next: connect again once Redis is back.
    redis.start()
    with app.connection_for_read() as again:
        assert again.default_channel.client.ping()


def test_kombus_own_transport_still_fails_there(redis):
    """When this fails, kombu fixed it: shared/celery_redis.py can go."""
    conn = Connection(redis.url)
    assert type(conn.default_channel) is kombu_redis.Channel
    errors = conn.connection_errors + conn.channel_errors
    message = lose_redis_holding_a_message(conn, redis)
    with pytest.raises(AttributeError, match="hostname"):
        conn.close()
    with pytest.raises(AttributeError):
        message.ack_log_error(logging.getLogger("test"), errors)
