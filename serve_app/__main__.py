"""`python -m serve_app` is `penguin-actors`."""

from serve_app.cli import main

raise SystemExit(main())
