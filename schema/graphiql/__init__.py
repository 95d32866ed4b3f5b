"""GraphiQL served whole by this app: our page, its start-up code and the vendored browser
files of GraphiQL, React and the explorer plugin (vendor/, kept current by update.py)."""
