"""Small servers for tests: bad targets (garbage, hang, redirect loop, huge body) and APIs with
other layouts, each on a free port of 127.0.0.1, run in a background thread."""
