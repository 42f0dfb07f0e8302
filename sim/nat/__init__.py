"""Translators in front of hosts (issue 10, in progress): the port searches of each NAT kind."""
