"""solutions are the oracles and the reference answers"""
