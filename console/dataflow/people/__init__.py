"""People: roles, preferences, time zones and limits on what one person may try."""
