"""The bot's entry point: ``python bot.py``."""

import sys

from neurocards.bot.main import main

if __name__ == "__main__":
    sys.exit(main())
