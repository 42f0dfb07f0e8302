"""The host model: ports, allocation policies, the connection lifecycle and the samplers that drive it.

Nothing here knows about scenario files, reports or plots: ``config`` builds a ``ResolvedHost`` and the
workload samplers, ``model`` drives them with SimPy, ``report`` reads what they recorded.
"""
