"""Celery's Redis transport with one kombu bug worked around; every service's workers use it
(``broker_transport`` in shared/celery_app.py).

When a worker loses Redis, Celery detaches the connection's transport (``Connection.collect``), drops
the connection and connects again. The old channel can still be asked to talk to Redis afterwards:
closing it puts its unacknowledged messages back (when its first close, in ``collect``, was cut short
by the dead socket), and a task that finishes after the reconnection is acknowledged on it. Either way
kombu 5.x looks up the connection's address through the detached transport and raises
``AttributeError: 'NoneType' object has no attribute 'hostname'`` (or ``'client'``), which neither kombu
nor Celery handles: Celery calls it an unrecoverable error and the worker exits for good. The
fault-injection test saw the notifications worker die so at the Redis restart, by both paths.

Here a detached channel says what it is: a connection error, which every caller already handles (the
close goes on, the acknowledgement is logged as failed). Nothing is lost: the messages stay in Redis's
unacknowledged set and come back after the visibility timeout (or are gone with a restarted Redis), and
every service re-enqueues its pending work from PostgreSQL anyway (tasks are idempotent).
"""
from __future__ import annotations

import redis as redis_client
from kombu.transport import redis


class Channel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise redis_client.ConnectionError("channel detached from its connection: Redis was lost")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
