"""The SimPy model: a scenario driven through the host model, one replication at a time; and ``SocketHost``."""
