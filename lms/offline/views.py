"""Offline pages."""
