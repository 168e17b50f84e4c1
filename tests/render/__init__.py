"""Rendering: alerts, templates and the digest exports."""
