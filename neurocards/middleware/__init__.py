"""Our Dramatiq middleware, one per file, shaped like Dramatiq's own."""

from .database import DatabaseConnections
from .dead_letter import DeadLetterRefunds
from .failures import RecordFailures
from .prometheus import ExposedPrometheus
from .worker_logging import WorkerLogging

__all__ = ["DatabaseConnections", "DeadLetterRefunds", "RecordFailures", "ExposedPrometheus", "WorkerLogging"]
