"""Quantities derived from a site: power, phases, cooling, space, weight. Pure functions of the model.

Rules, the plan summary, reports and the Pulumi program all read these, so the arithmetic exists once.
"""
