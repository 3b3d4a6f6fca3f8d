"""Our Dramatiq middleware, one per file, shaped like Dramatiq's own."""

from .dead_letter import DeadLetterRefunds
from .failures import RecordFailures

__all__ = ["DeadLetterRefunds", "RecordFailures"]
