"""Reliability and security tests (issue 7): faults injected for real, nothing lost, nobody let in."""
