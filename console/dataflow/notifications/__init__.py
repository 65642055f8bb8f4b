"""Mail and webhooks when a change ends (a leaf: only the follow-ups call it)."""
