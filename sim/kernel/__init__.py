"""The live Linux kernel: experiments in a private network namespace, and the simulator beside them."""
