"""`python -m server ...`: see `server/commands.py`."""

import sys

from server.commands import main

try:
    sys.exit(main())
except KeyboardInterrupt:
    # uvicorn re-raises Ctrl-C after its graceful shutdown; the servers are stopped by then.
    sys.exit(130)
