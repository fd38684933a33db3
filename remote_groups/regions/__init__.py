"""Welfare regions, staff users, roles and login."""
