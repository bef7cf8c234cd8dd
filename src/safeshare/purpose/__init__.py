"""Purposes, legal bases, handling conditions and consent."""

from safeshare.purpose.conditions import Evaluation, HandlingConditions, Retention

__all__ = ["Evaluation", "HandlingConditions", "Retention"]
