"""The demo's seed data: the model case's content (content.py), sixty days of history
for the dashboard and the lead list (history.py), and the sandbox's logins (logins.py).
Used by `manage.py demo`."""
