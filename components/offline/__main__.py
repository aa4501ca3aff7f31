"""`python -m components.offline --port 8787 --latency 1.5`: the stand-in server on its own."""

from components.offline.server import main

raise SystemExit(main())
