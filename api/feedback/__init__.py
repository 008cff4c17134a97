"""Feedback: the type, `feedbackRecord`, and `Customer.feedback`."""
