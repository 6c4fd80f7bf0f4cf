"""The series' golden examples as they were before Workshop 3: plain NumPy, the speed baseline."""
