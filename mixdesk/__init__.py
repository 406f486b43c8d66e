"""mixdesk: cut music into chunks, learn which chunk may follow which, and build a continuous mix."""

__version__ = "0.1.0"
