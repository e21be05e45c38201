"""VOICE: victim notification and case management for a victim-liaison office."""

__version__ = "0.1.0"
