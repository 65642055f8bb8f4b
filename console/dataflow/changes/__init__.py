"""The change pipeline: plan, submit, approve, send, track and recover one change; its
lifecycle."""
