"""Clients in front of the host: connection pools that turn requests into connections, and retries."""
