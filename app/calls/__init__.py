"""Phone: calls agents log on tickets, and the CTI webhook that pops the caller's
tickets on the answering agent's screen."""
