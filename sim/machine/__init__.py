"""This machine's ports: what a port number is (IANA tier, service, which ranges hold it), this machine's
ephemeral range and TIME_WAIT settings, its sockets through psutil, and a scenario estimated from them.

The layer reads the live machine only in ``settings.read_settings`` and ``sockets.take_snapshot``; everything
else works on the values those return.
"""
