"""Celery's Redis transport with one kombu bug worked around; every service's workers use it
(``broker_transport`` in shared/celery_app.py).

When a worker loses Redis, Celery detaches the connection's transport (``Connection.collect``) and then
closes the connection. If closing the channel in ``collect`` was cut short by the dead socket (a BRPOP
in flight), the second close puts the unacknowledged messages back on a transport with no connection
any more: kombu 5.x raises ``AttributeError: 'NoneType' object has no attribute 'hostname'``, which
Celery calls an unrecoverable error, and the worker exits for good. The fault-injection test saw the
notifications worker die so at the Redis restart in 2 of 15 runs.

Skipping that restore loses nothing: the messages stay in Redis's unacknowledged set and come back
after the visibility timeout (or are gone with a restarted Redis), and every service re-enqueues its
pending work from PostgreSQL anyway (tasks are idempotent; see shared/celery_app.py).
"""
from __future__ import annotations

from kombu.transport import redis


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        transport = self.channel.connection
        if client is None and (transport is None or transport.client is None):
            self._delivered.clear()
            return None
        return super().restore_unacked(client)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
