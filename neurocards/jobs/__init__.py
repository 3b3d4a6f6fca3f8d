"""A job's life: where it is decided what happens to a paid video.

``state_machine`` is the job store and its transitions (re-exported here:
``from neurocards import jobs; jobs.start_job(...)``); ``pipeline`` is what
every actor shares; ``status`` and ``eta`` are what the seller reads of a job;
``formats`` what it is made in; ``reports`` a seller's complaint about one;
``sent_videos`` and ``watchdog`` make every paid job end.  Imports the core,
``money`` and ``limits``; never ``bot`` or ``actors``.
"""

from .state_machine import *  # noqa: F403  (the state machine is the package's face)
from .state_machine import __all__  # noqa: F401
