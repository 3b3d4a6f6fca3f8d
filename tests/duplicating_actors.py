"""The real actors, with every pipeline message enqueued twice: a worker started
on this module (``dramatiq tests.duplicating_actors``) sees each message
delivered twice, as an at-least-once broker is allowed to do.  Test-only."""

import dramatiq

import actors

COPY = "delivered_twice"


class DeliverTwice(dramatiq.Middleware):
    """Enqueue a second copy (same message id) of every pipeline message."""

    @property
    def actor_options(self):
        return set()

    def after_enqueue(self, broker, message, delay):
        if message.options.get(COPY) or not message.queue_name.startswith("pipeline"):
            return
        copy = message.copy(options={**message.options, COPY: True})
        broker.enqueue(copy, delay=delay)


actors.broker.add_middleware(DeliverTwice())
