"""The change history: its queries, CSV export and charts."""
