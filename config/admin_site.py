"""The admin site, entered only by those the roles policy lets in (config/roles.py).

Django's own site lets in any active staff user; this one asks `may_use_admin`, so the
admin can never be wider than what the marketer API and the workspace allow.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.http import HttpRequest

from config.roles import may_use_admin


class AdminSite(admin.AdminSite):
    site_title = "leadgate admin"
    site_header = "leadgate administration"
    index_title = "Data and settings"

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request.user)


class AdminConfig(DjangoAdminConfig):
    default_site = "config.admin_site.AdminSite"
