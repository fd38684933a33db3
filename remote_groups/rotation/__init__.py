"""Rotating facilitation: the planner, blackouts, swaps, facilitator assignment and turns."""
