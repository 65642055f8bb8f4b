"""The Data Flow Console: a Django admin console for SCP Data Flow services."""
