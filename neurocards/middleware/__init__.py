"""Our Dramatiq middleware, one per file, shaped like Dramatiq's own."""

from .database import DatabaseConnections
from .dead_letter import DeadLetterRefunds
from .event_loop import DaemonAsyncIO
from .expected_failures import ExpectedFailures, SellerFailure
from .failures import RecordFailures
from .prometheus import ExposedPrometheus
from .stop_signals import OneStopSignal
from .worker_logging import WorkerLogging

__all__ = ["DatabaseConnections", "DeadLetterRefunds", "DaemonAsyncIO", "ExpectedFailures", "SellerFailure",
           "RecordFailures", "ExposedPrometheus", "OneStopSignal", "WorkerLogging"]
