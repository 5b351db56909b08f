"""The conversion report (report.json, report.md) and the weight map."""
