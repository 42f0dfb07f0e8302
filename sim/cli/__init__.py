"""The ``portsim`` command line."""
