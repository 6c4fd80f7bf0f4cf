"""What the lesson notebooks import: honest timing helpers and the digits data.

This package is the student's: a starter repository ships it, and a notebook under grading can
import it. The graders, oracles and reference answers live elsewhere (autograder/, solutions/)
and are out of a student kernel's reach.
"""
