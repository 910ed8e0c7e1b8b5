"""The demo's seed data, used by `manage.py demo`: the model case's content
(content.py), sixty days of history for the dashboard and the lead list (history.py, with
visits.py, people.py and crm.py), and the sandbox's logins (logins.py)."""
