"""The forms, one module per page family."""
