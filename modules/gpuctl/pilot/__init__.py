"""The bare-metal pilot's three outputs (Inflect, AI Inference on Bare Metal: "a validated AI inference cost
comparison using actual utilization data, a documented runbook for hardware failure scenarios, and a staffing
assessment of the ongoing operational load",
https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide): comparison.py,
runbook.py, staffing.py. Pure functions of the site (and measured telemetry); the CLI writes the files."""
