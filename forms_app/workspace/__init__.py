"""The marketer's workspace: server-rendered pages under /app/.

Capture/builder and reporting code on top of both apps: it calls forms_app's and
profiling's services for every write and never writes models itself (except the
workspace's own CampaignCost through forms_app.workspace.costs).
"""
